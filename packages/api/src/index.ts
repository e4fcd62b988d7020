/**
 * `@containerts/api`: containerd 1.6's wire API as generated TypeScript (ts-proto, grpc-js).
 *
 * Each service and type group has its own subpath (`@containerts/api/services/content/v1`,
 * `@containerts/api/types`, `@containerts/api/events`, …); this root entry only carries the Any/type-URL
 * helpers (also at `@containerts/api/typeurl`) and the version of containerd whose API the protos follow.
 * @module
 */

/** The containerd release whose wire API (names, field numbers, type URLs) this package reproduces. */
export const containerdApiVersion = "1.6.20";

export {
  CgroupsTypeUrl,
  EventTypeUrl,
  RuncTypeUrl,
  SpecTypeUrl,
  decodeAny,
  decodeAnyAs,
  encodeAny,
  eventFieldValue,
  fromTimestamp,
  isMessageTypeUrl,
  messageCodec,
  packAny,
  packJson,
  toTimestamp,
  unpackJson,
  type DecodedAny,
  type MessageCodec,
  type MessageTypeMap,
  type MessageTypeUrl,
  type PreciseTime,
} from "./typeurl.js";
