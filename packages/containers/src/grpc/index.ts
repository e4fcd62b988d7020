/**
 * The gRPC side of containers: the Containers service adapter and the wire conversions.
 * @module
 */
export { createContainersServer } from "./server.js";
export { containerToProto, containerFromProto, containerInputToProto, containerInputFromProto } from "./convert.js";
