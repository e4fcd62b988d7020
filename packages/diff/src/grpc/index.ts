/**
 * The Diff gRPC service adapter and its wire conversions.
 * @module
 */
export { createDiffServer } from "./server.js";
export {
  descriptorFromProto,
  descriptorToProto,
  mountFromProto,
  mountToProto,
  payloadsFromProto,
  payloadsToProto,
  type ProtoAny,
} from "./convert.js";
