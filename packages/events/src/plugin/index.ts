/**
 * Plugin registrations of events: the exchange (`io.containerd.event.v1.exchange`) and the events
 * services (`io.containerd.grpc.v1.events`, gRPC plus the ttrpc Forward for shims).
 * @module
 */
import { PluginType, checkInstance, type AnyRegistration, type Registration } from "@containerts/plugin-registry";
import type { Exchange } from "../index.js";
import { DEFAULT_QUEUE_SIZE, createExchange, type LocalExchange } from "../local/index.js";
import { createEventsServer, createPayloadEncoder, wireEventFields, type EventsServicePlugin } from "../grpc/index.js";

/** The id of the exchange plugin, as in containerd. */
export const EXCHANGE_PLUGIN_ID = "exchange";

/** Configuration of the exchange plugin (`[plugins."io.containerd.event.v1.exchange"]`). */
export interface ExchangePluginConfig {
  /** The most events queued for one subscriber before it is dropped (a containerts addition). */
  subscriber_queue_size: number;
}

const exchange: Registration<LocalExchange, ExchangePluginConfig> = {
  type: PluginType.Event,
  id: EXCHANGE_PLUGIN_ID,
  config: { subscriber_queue_size: DEFAULT_QUEUE_SIZE },
  init: async (ic) => {
    // Message payloads published in-process are encoded once at publish, so an unencodable event fails
    // its publisher rather than the subscribers' streams.
    const encode = createPayloadEncoder();
    return createExchange({
      queueSize: ic.config.subscriber_queue_size,
      eventFields: wireEventFields,
      validatePayload: (payload) => void encode(payload),
    });
  },
};

const grpc: Registration<EventsServicePlugin> = {
  type: PluginType.GRPC,
  id: "events",
  requires: [PluginType.Event],
  init: async (ic) =>
    createEventsServer(
      checkInstance<Exchange>(ic.getById(PluginType.Event, EXCHANGE_PLUGIN_ID), ["publish", "forward", "subscribe"], "io.containerd.event.v1.exchange plugin"),
    ),
};

/** The event exchange and the events services. */
export const eventsPlugins: readonly AnyRegistration[] = [exchange, grpc];
