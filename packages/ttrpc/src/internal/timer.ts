import { performance } from "node:perf_hooks";

/** Longest delay Node's `setTimeout` honours; larger values fire after 1 ms. */
const MAX_DELAY = 0x7fff_ffff;

/**
 * Calls `fn` once, asynchronously, after `ms` milliseconds (at once for ms ≤ 0), re-arming in steps
 * for delays beyond `setTimeout`'s 24.8-day limit (a ttrpc `timeout_nano` can be far larger).
 * Returns a function that cancels it.
 */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  const due = performance.now() + ms;
  let timer: NodeJS.Timeout;
  const arm = (delay: number): void => {
    timer = setTimeout(() => {
      const left = due - performance.now();
      if (left > 1) arm(left);
      else fn();
    }, Math.min(Math.max(delay, 0), MAX_DELAY));
  };
  arm(ms);
  return () => clearTimeout(timer);
}
