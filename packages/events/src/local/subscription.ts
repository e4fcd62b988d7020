/**
 * One subscriber of the local exchange: its filter and its bounded queue of envelopes.
 */
import type { ContainertsError } from "@containerts/errdefs";
import type { Filter } from "@containerts/namespaces";
import type { Envelope } from "../index.js";

interface Waiter {
  resolve(result: IteratorResult<Envelope>): void;
  reject(err: unknown): void;
}

const done: IteratorResult<Envelope> = Object.freeze({ done: true, value: undefined });

/**
 * A subscription: the exchange {@link deliver}s matching envelopes, the consumer pulls them with
 * {@link next}. At most `limit` envelopes wait in the queue; one more and the subscription fails with
 * the error `overflow()` builds, its queue is released, and it detaches from the exchange.
 */
export class Subscription implements AsyncIterableIterator<Envelope> {
  readonly filter: Filter;
  readonly #limit: number;
  readonly #overflow: () => ContainertsError;
  readonly #detach: (s: Subscription) => void;
  readonly #signal: AbortSignal;
  #queue: (Envelope | undefined)[] = [];
  #head = 0;
  #waiters: Waiter[] = [];
  #error: unknown;
  #ended = false;

  constructor(options: {
    filter: Filter;
    limit: number;
    overflow: () => ContainertsError;
    detach: (s: Subscription) => void;
    signal: AbortSignal;
  }) {
    this.filter = options.filter;
    this.#limit = options.limit;
    this.#overflow = options.overflow;
    this.#detach = options.detach;
    this.#signal = options.signal;
    this.#signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Envelopes waiting to be pulled. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Whether the subscription still receives envelopes. */
  get active(): boolean {
    return !this.#ended;
  }

  /** Hands an envelope to a waiting consumer, or queues it; never blocks. */
  deliver(envelope: Envelope): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ done: false, value: envelope });
      return;
    }
    if (this.queued >= this.#limit) {
      this.fail(this.#overflow());
      return;
    }
    this.#queue.push(envelope);
  }

  /** Ends the subscription with an error: the consumer's next pull rejects with it (once). */
  fail(err: unknown): void {
    if (this.#ended) return;
    this.#error = err;
    this.#finish();
    const [first, ...rest] = this.#waiters;
    this.#waiters = [];
    if (first !== undefined) {
      this.#error = undefined;
      first.reject(err);
    }
    for (const w of rest) w.resolve(done);
  }

  /** Ends the subscription normally: queued envelopes are dropped and pulls report done. */
  end(): void {
    if (this.#ended) return;
    this.#finish();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve(done);
  }

  next(): Promise<IteratorResult<Envelope>> {
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head] as Envelope;
      this.#queue[this.#head] = undefined;
      this.#head++;
      this.#compact();
      return Promise.resolve({ done: false, value });
    }
    if (this.#error !== undefined) {
      const err = this.#error;
      this.#error = undefined;
      return Promise.reject(err);
    }
    if (this.#ended) return Promise.resolve(done);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<Envelope>> {
    this.#error = undefined;
    this.end();
    return Promise.resolve(done);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  readonly #onAbort = (): void => this.end();

  #finish(): void {
    this.#ended = true;
    this.#queue = [];
    this.#head = 0;
    this.#signal.removeEventListener("abort", this.#onAbort);
    this.#detach(this);
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
