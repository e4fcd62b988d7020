/**
 * containerd's events service over ttrpc (`containerd.services.events.ttrpc.v1.Events`): shims forward task events here.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  Envelope,
  EventsClient,
  EventsService,
  ForwardRequest,
} from "../../../gen/containerd/services/ttrpc/events/v1/events.js";
export type {
  EventsServer,
} from "../../../gen/containerd/services/ttrpc/events/v1/events.js";
