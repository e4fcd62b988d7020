/**
 * The Snapshots gRPC service adapter and the wire conversions.
 * @module
 */
export { createSnapshotsServer, LIST_BATCH_SIZE } from "./server.js";
export {
  infoToProto,
  infoFromProto,
  infoUpdateToProto,
  kindToProto,
  kindFromProto,
  mountsToProto,
  mountsFromProto,
  usageToProto,
  usageFromProto,
} from "./convert.js";
