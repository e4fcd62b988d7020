/**
 * Forwards task events to the daemon: `containerd.services.events.ttrpc.v1.Events/Forward` on the ttrpc
 * address the daemon passed in `TTRPC_ADDRESS`, with an Envelope of the shim's namespace, the topic, the
 * time the event happened and the event packed with its bare type URL.
 *
 * Events go out one at a time in the order they were queued (a `/tasks/exit` never overtakes the start
 * event before it). A failed Forward is retried after 1 s, 2 s, … up to 5 times (reconnecting when the
 * connection closed), then the event is dropped and logged, as containerd's shim publisher does.
 */
import { ForwardRequest } from "@containerts/api/services/ttrpc/events/v1";
import { toTimestamp } from "@containerts/api/typeurl";
import { type TtrpcClient, connectTtrpcClient, isTtrpcClosed } from "@containerts/ttrpc";
import type { EventSink, TaskEvent } from "../events.js";
import type { Logger } from "../log.js";
import { eventToAny } from "./convert.js";

/** The ttrpc events service name. */
export const EVENTS_SERVICE = "containerd.services.events.ttrpc.v1.Events";

/** Options of {@link EventPublisher}. */
export interface PublisherOptions {
  /** The daemon's ttrpc address (`TTRPC_ADDRESS`): a socket path, optionally `unix://`-prefixed. "" drops events. */
  readonly address: string;
  readonly namespace: string;
  readonly log: Logger;
  /** Per-call timeout. Default 5 s. */
  readonly timeoutMs?: number;
  /** Retries of a failed event. Default 5. */
  readonly maxRetries?: number;
  /** Delay unit between retries (attempt n waits n × this). Default 1 s. */
  readonly retryDelayMs?: number;
  /** Most events kept waiting; older ones are dropped beyond it. Default 2048. */
  readonly queueSize?: number;
}

interface Item {
  readonly topic: string;
  readonly payload: Uint8Array;
  attempts: number;
}

/** An ordered, retrying publisher of task events. */
export class EventPublisher implements EventSink {
  readonly #o: Required<PublisherOptions>;
  readonly #queue: Item[] = [];
  #client: TtrpcClient | undefined;
  #pumping = false;
  #idle: (() => void)[] = [];
  #closed = false;

  constructor(options: PublisherOptions) {
    this.#o = { timeoutMs: 5000, maxRetries: 5, retryDelayMs: 1000, queueSize: 2048, ...options };
  }

  publish(event: TaskEvent): void {
    if (this.#closed) return;
    if (this.#o.address === "") {
      this.#o.log.warn("no TTRPC_ADDRESS: event dropped", { topic: event.topic });
      return;
    }
    const payload = ForwardRequest.encode({
      envelope: { timestamp: toTimestamp(new Date()), namespace: this.#o.namespace, topic: event.topic, event: eventToAny(event) },
    }).finish();
    if (this.#queue.length >= this.#o.queueSize) {
      const dropped = this.#queue.shift();
      this.#o.log.error("event queue full: evicting event", { topic: dropped?.topic });
    }
    this.#queue.push({ topic: event.topic, payload, attempts: 0 });
    void this.#pump();
  }

  async #connect(): Promise<TtrpcClient> {
    if (this.#client !== undefined) return this.#client;
    const path = this.#o.address.replace(/^unix:\/\//, "");
    const client = await connectTtrpcClient(path, { timeoutMs: this.#o.timeoutMs });
    client.onClose(() => {
      if (this.#client === client) this.#client = undefined;
    });
    this.#client = client;
    return client;
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0) {
        const item = this.#queue[0]!;
        try {
          const client = await this.#connect();
          await client.call(EVENTS_SERVICE, "Forward", item.payload, { timeoutMs: this.#o.timeoutMs });
          this.#queue.shift();
        } catch (err) {
          if (isTtrpcClosed(err)) this.#client = undefined;
          item.attempts++;
          if (item.attempts > this.#o.maxRetries) {
            this.#o.log.error("evicting event from queue because of retry count", { topic: item.topic, error: err });
            this.#queue.shift();
            continue;
          }
          this.#o.log.warn("forward event", { topic: item.topic, attempt: item.attempts, error: err });
          await new Promise((r) => setTimeout(r, item.attempts * this.#o.retryDelayMs));
        }
      }
    } finally {
      this.#pumping = false;
      for (const wake of this.#idle.splice(0)) wake();
    }
  }

  /** Resolves once every queued event was sent (or dropped), or after `timeoutMs`. */
  async drain(timeoutMs = 5000): Promise<void> {
    if (!this.#pumping && this.#queue.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((r) => this.#idle.push(r)), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Drains (up to `timeoutMs`), then closes the connection; later events are dropped. */
  async close(timeoutMs = 5000): Promise<void> {
    await this.drain(timeoutMs);
    this.#closed = true;
    const c = this.#client;
    this.#client = undefined;
    await c?.close();
  }
}
