/**
 * `@containerts/images/grpc`: the Images gRPC service adapter and the wire conversions.
 * @module
 */
export { createImagesServer } from "./server.js";
export {
  descriptorFromProto,
  descriptorToProto,
  imageFromProto,
  imageInputFromProto,
  imageInputToProto,
  imageToProto,
} from "./convert.js";
