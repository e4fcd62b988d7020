/**
 * containerd's events service over gRPC (`containerd.services.events.v1.Events`): publish, forward, subscribe.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  Envelope,
  EventsClient,
  EventsService,
  ForwardRequest,
  PublishRequest,
  SubscribeRequest,
} from "../../gen/containerd/services/events/v1/events.js";
export type {
  EventsServer,
} from "../../gen/containerd/services/events/v1/events.js";
