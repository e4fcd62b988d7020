/**
 * `@containerts/ttrpc`: the ttrpc protocol (v1.1, unary) that containerd and runtime v2 shims speak:
 * a client, a server, and typed helpers for generated message codecs.
 */
export {
  type TtrpcClient,
  type TtrpcCallOptions,
  type TtrpcCloseEvent,
  type TtrpcConnectOptions,
  type TtrpcMetadata,
  createTtrpcClient,
  connectTtrpcClient,
} from "./client.js";
export {
  type TtrpcServer,
  type TtrpcServerOptions,
  type TtrpcShutdownOptions,
  type TtrpcCallContext,
  type TtrpcHandler,
  type TtrpcServiceMethods,
  type TtrpcListenTarget,
  createTtrpcServer,
} from "./server.js";
export {
  type MessageEncoder,
  type MessageDecoder,
  type UnaryMethod,
  unaryMethod,
  unaryHandler,
} from "./method.js";
export { isTtrpcClosed, TTRPC_CLOSED_MESSAGE, TTRPC_MESSAGE_LENGTH_MAX, TTRPC_NAMESPACE_KEY } from "./constants.js";
