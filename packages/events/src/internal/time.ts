/**
 * Time helpers shared by the exchange and the wire conversions: Go's zero time (what containerd reads
 * from an envelope without a timestamp) and a wall clock with nanosecond resolution.
 */

/** Milliseconds since the Unix epoch of Go's zero `time.Time`, 0001-01-01T00:00:00Z. */
export const GO_ZERO_TIME_MS = -62_135_596_800_000;

/** True when a timestamp is unset: Go's zero time (with no nanoseconds) or an invalid Date. */
export function isZeroTime(date: Date, nanos = 0): boolean {
  const ms = date.getTime();
  return Number.isNaN(ms) || (ms === GO_ZERO_TIME_MS && nanos === 0);
}

/** An instant to the nanosecond: `date` to the millisecond, `nanos` within that millisecond (0–999 999). */
export interface PreciseInstant {
  readonly date: Date;
  readonly nanos: number;
}

/** A source of the current wall-clock time. */
export type Clock = () => PreciseInstant;

const nsPerMs = 1_000_000n;
/** How far (ms) the monotonic extrapolation may drift from `Date.now()` before the clock re-anchors. */
const maxDriftMs = 2;

/**
 * Creates a wall clock with nanosecond resolution: `Date.now()` anchors it and `process.hrtime` supplies
 * the digits below the millisecond. When the wall clock is stepped (or the two drift apart by more than
 * a couple of milliseconds) it re-anchors, so it follows the system time as Go's `time.Now()` does.
 */
export function createClock(): Clock {
  let anchorNs = BigInt(Date.now()) * nsPerMs;
  let anchorHr = process.hrtime.bigint();
  return () => {
    const hr = process.hrtime.bigint();
    let ns = anchorNs + (hr - anchorHr);
    const wallMs = Date.now();
    const drift = Number(ns / nsPerMs) - wallMs;
    if (drift > maxDriftMs || drift < -maxDriftMs) {
      anchorNs = BigInt(wallMs) * nsPerMs;
      anchorHr = hr;
      ns = anchorNs;
    }
    return { date: new Date(Number(ns / nsPerMs)), nanos: Number(ns % nsPerMs) };
  };
}
