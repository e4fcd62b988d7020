/**
 * Small concurrency tools for the image operations: a counting semaphore, a task group that cancels its
 * other tasks when one fails and waits for all of them before reporting, and deferred values.
 */
import { CanceledError, isCanceled, normalize } from "@containerts/errdefs";

/** A counting semaphore: at most `limit` holders at once, served in arrival order. */
export class Semaphore {
  #free: number;
  readonly #waiters: (() => void)[] = [];

  constructor(limit: number) {
    this.#free = Math.max(1, Math.floor(limit));
  }

  /** Runs `fn` while holding one unit. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(abortError(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(grant);
    });
  }

  #release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next();
    else this.#free++;
  }
}

/** The error an aborted signal stands for, as a containerts error. */
export function abortError(signal: AbortSignal): Error {
  return normalize(signal.reason ?? new CanceledError(""));
}

/**
 * A group of concurrent tasks (Go's errgroup with a context): the group's `signal` aborts when the
 * parent signal aborts or when a task fails; {@link TaskGroup.wait} waits for every task to finish and
 * throws the first real failure (a task's error, not the cancellations it caused in the others).
 */
export class TaskGroup {
  readonly #ac = new AbortController();
  readonly #tasks = new Set<Promise<void>>();
  #error: unknown;
  #failed = false;
  readonly #parent: AbortSignal | undefined;

  constructor(parent?: AbortSignal) {
    this.#parent = parent;
    if (parent !== undefined) {
      if (parent.aborted) this.#ac.abort(parent.reason);
      else parent.addEventListener("abort", () => this.#ac.abort(parent.reason), { once: true });
    }
  }

  /** Aborted when the parent aborts or a task fails. */
  get signal(): AbortSignal {
    return this.#ac.signal;
  }

  /** Starts a task. */
  spawn(fn: () => Promise<void>): void {
    const p: Promise<void> = (async () => {
      try {
        await fn();
      } catch (err) {
        this.#fail(err);
      }
    })();
    this.#tasks.add(p);
    void p.finally(() => this.#tasks.delete(p));
  }

  #fail(err: unknown): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#error = err;
      this.#ac.abort(err);
      return;
    }
    // A later real failure replaces a cancellation (which may only be the echo of the abort).
    if (isCanceled(this.#error) && !isCanceled(err)) this.#error = err;
  }

  /**
   * Waits until no task is running; throws the group's first failure, or the parent's cancellation
   * (Canceled / DeadlineExceeded) when the parent aborted.
   */
  async wait(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    if (this.#parent?.aborted === true) throw abortError(this.#parent);
    if (this.#failed) throw this.#error;
  }
}

/** A promise with its resolve and reject exposed. */
export class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (err: unknown) => void;
  settled = false;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = (v) => {
        this.settled = true;
        resolve(v);
      };
      this.reject = (e) => {
        this.settled = true;
        reject(e);
      };
    });
    // A rejection nobody waits for is not an unhandled rejection.
    this.promise.catch(() => undefined);
  }
}

/** Sleeps `ms`, rejecting when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal!));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
