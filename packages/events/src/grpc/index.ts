/**
 * The events services over gRPC and ttrpc, and the wire conversions of events.
 * @module
 */
export {
  createEventsServer,
  TTRPC_EVENTS_SERVICE,
  type EventsServicePlugin,
  type TtrpcServerLike,
} from "./server.js";
export {
  payloadToAny,
  payloadFromAny,
  envelopeToWire,
  envelopeFromWire,
  createPayloadEncoder,
  wireEventFields,
  type WireEnvelope,
} from "./convert.js";
