/**
 * Signal names and the stop signal of a container (moby's `signal.ParseSignal`, containerd's
 * `GetStopSignal` / `GetOCIStopSignal`). No I/O.
 */
import { constants } from "node:os";
import { InvalidArgumentError } from "@containerts/errdefs";

/** The container label holding the image's stop signal. */
export const STOP_SIGNAL_LABEL = "io.containerd.image.config.stop-signal";

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/**
 * The number of a signal given as a number (`"9"`), a name with or without `SIG` (`"SIGTERM"`, `"term"`),
 * or `RTMIN+n` / `RTMAX-n`.
 * @throws InvalidArgumentError `invalid signal: <s>` for anything else, and for 0.
 */
export function parseSignal(raw: string): number {
  if (/^[+-]?\d+$/.test(raw)) {
    const n = Number.parseInt(raw, 10);
    if (n === 0) throw new InvalidArgumentError(`invalid signal: ${raw}`, { bare: true });
    return n;
  }
  const name = raw.toUpperCase().replace(/^SIG/, "");
  const signals = constants.signals as Readonly<Record<string, number>>;
  const n = signals[`SIG${name}`];
  if (n !== undefined) return n;
  const rt = /^RT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt !== null) {
    const base = rt[1] === "MIN" ? SIGRTMIN : SIGRTMAX;
    const off = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === "-" ? -1 : 1);
    const v = base + off;
    if (v >= SIGRTMIN && v <= SIGRTMAX) return v;
  }
  throw new InvalidArgumentError(`invalid signal: ${raw}`, { bare: true });
}

/** The name of signal `n` (`SIGTERM`), or its number as text when it has none. */
export function signalName(n: number): string {
  for (const [name, v] of Object.entries(constants.signals as Readonly<Record<string, number>>)) if (v === n) return name;
  return String(n);
}

/**
 * The signal to stop a container with (containerd's `GetStopSignal`): its `io.containerd.image.config.stop-signal`
 * label, else `defaultSignal`.
 * @throws InvalidArgumentError when the label holds no valid signal.
 */
export function stopSignal(labels: Readonly<Record<string, string>>, defaultSignal: number | string = "SIGTERM"): number {
  const label = labels[STOP_SIGNAL_LABEL];
  if (label !== undefined && label !== "") return parseSignal(label);
  return typeof defaultSignal === "number" ? defaultSignal : parseSignal(defaultSignal);
}
