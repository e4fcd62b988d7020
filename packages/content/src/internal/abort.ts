/** Cancellation helpers shared by the store implementations. */
import { CanceledError } from "@containerts/errdefs";

/** Throws CanceledError when any of the signals has aborted. */
export function throwIfAborted(...signals: readonly (AbortSignal | undefined)[]): void {
  for (const s of signals) {
    if (s?.aborted) throw new CanceledError("", { cause: s.reason });
  }
}

/** Resolves after `ms` milliseconds, or rejects with CanceledError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new CanceledError("", { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CanceledError("", { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
