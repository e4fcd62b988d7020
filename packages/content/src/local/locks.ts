/**
 * In-process ref locks of the local store: one writer per ref at a time.
 *
 * A single daemon owns a content root, so no on-disk lock is taken; two store instances opened on
 * the same directory in one process do not see each other's locks.
 */
import { UnavailableError } from "@containerts/errdefs";

import { sleep } from "../internal/abort.js";

/** How often {@link RefLocks.acquire} retries before giving up, as upstream. */
const lockAttempts = 10;

/** Formats a duration in milliseconds the way Go's `time.Duration.String` does (`612.5ms`, `1.2s`, `2m3s`). */
export function formatDuration(ms: number): string {
  const ns = Math.max(0, Math.round(ms * 1e6));
  if (ns === 0) return "0s";
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trimFraction((ns / 1e3).toFixed(3))}µs`;
  if (ns < 1e9) return `${trimFraction((ns / 1e6).toFixed(6))}ms`;
  let rest = ns / 1e9;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const s = `${trimFraction(rest.toFixed(9))}s`;
  return h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
}

function trimFraction(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

/** The set of refs currently held by a writer, with the time each was taken. */
export class RefLocks {
  readonly #held = new Map<string, { since: Date; at: number }>();

  /**
   * Takes the lock on `ref`, retrying a few times with short random sleeps (about half a second
   * in total at worst).
   * @throws UnavailableError `ref <ref> locked for <duration> (since <time>)` when still held.
   * @throws CanceledError when `signal` aborts while waiting.
   */
  async acquire(ref: string, signal?: AbortSignal): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const held = this.#held.get(ref);
      if (held === undefined) {
        this.#held.set(ref, { since: new Date(), at: performance.now() });
        return;
      }
      if (attempt + 1 >= lockAttempts) {
        throw new UnavailableError(
          `ref ${ref} locked for ${formatDuration(performance.now() - held.at)} (since ${held.since.toISOString()})`,
        );
      }
      await sleep(Math.floor(Math.random() * (1 << attempt)), signal);
    }
  }

  /** Releases `ref`; releasing a ref that is not held does nothing. */
  release(ref: string): void {
    this.#held.delete(ref);
  }

  /** True while `ref` is held. */
  isHeld(ref: string): boolean {
    return this.#held.has(ref);
  }
}
