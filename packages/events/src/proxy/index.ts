/**
 * The event exchange over gRPC (`containerd.services.events.v1.Events`), for clients of the daemon.
 * @module
 */
import { withContext } from "@containerts/errdefs";
import { type Context, parseFilters } from "@containerts/namespaces";
import { callStream, callUnary } from "@containerts/namespaces/grpc";
import type { ProxyTarget } from "@containerts/namespaces/proxy";
import { EventsClient } from "@containerts/api/services/events/v1";
import type { Envelope, EventPayload, Exchange } from "../index.js";
import { envelopeFromWire, envelopeToWire, payloadToAny } from "../grpc/convert.js";

export type { ProxyTarget } from "@containerts/namespaces/proxy";

/** Options of {@link ProxyExchange}. */
export interface ProxyExchangeOptions {
  /**
   * Whether subscriptions decode containerd's event messages into message payloads (Timestamps as
   * Dates). Default true. Other type URLs, and all payloads when false, arrive as encoded bytes.
   */
  readonly decode?: boolean;
}

/**
 * An {@link Exchange} over the daemon's Events service. Errors are those of the daemon, as errdefs
 * errors of the same kind (see `createEventsServer` in `@containerts/events/grpc`); message payloads
 * whose type URL is not registered are refused locally with InvalidArgumentError.
 *
 * A subscription starts when its iterator is first pulled and receives what the daemon publishes after
 * the call reaches it (there is no acknowledgement, as with containerd). Its iterator throws
 * InvalidArgumentError `failed parsing subscription filters: …` for a malformed filter (checked before
 * any call), ResourceExhaustedError when the daemon drops it as too slow, and ends when `ctx.signal`
 * aborts.
 */
export class ProxyExchange implements Exchange {
  readonly #client: EventsClient;
  readonly #decode: boolean;

  constructor(target: ProxyTarget, options: ProxyExchangeOptions = {}) {
    this.#client = new EventsClient(target.address, target.credentials, target.options);
    this.#decode = options.decode ?? true;
  }

  async publish(ctx: Context, topic: string, event: EventPayload): Promise<void> {
    await callUnary(this.#client.publish.bind(this.#client), { topic, event: payloadToAny(event) }, ctx);
  }

  async forward(ctx: Context, envelope: Envelope): Promise<void> {
    await callUnary(this.#client.forward.bind(this.#client), { envelope: envelopeToWire(envelope) }, ctx);
  }

  subscribe(ctx: Context, filters: readonly string[] = []): AsyncIterable<Envelope> {
    const client = this.#client;
    const decode = this.#decode;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          parseFilters(filters);
        } catch (err) {
          throw withContext(err, "failed parsing subscription filters");
        }
        try {
          for await (const envelope of callStream(client.subscribe.bind(client), { filters: [...filters] }, ctx)) {
            yield envelopeFromWire(envelope, decode);
          }
        } catch (err) {
          if (ctx.signal.aborted) return;
          throw err;
        }
      },
    };
  }

  /** Closes the underlying gRPC client. */
  close(): void {
    this.#client.close();
  }
}
