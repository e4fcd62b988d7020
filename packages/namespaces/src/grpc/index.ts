/**
 * gRPC glue shared by every service adapter and proxy: context from call metadata, handler wrappers that
 * map errors, client call helpers, and the shape of a gRPC service plugin. Also the Namespaces service's
 * own adapter.
 * @module
 */
export {
  contextFromCall,
  unary,
  serverStream,
  bidiStream,
  callMetadata,
  callUnary,
  callStream,
  grpcService,
  type Send,
  type UnaryMethod,
  type StreamMethod,
  type GrpcServerLike,
  type GrpcServicePlugin,
} from "./call.js";
export { createNamespacesServer } from "./namespaces.js";
