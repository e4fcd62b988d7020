/**
 * `@containerts/content/grpc`: the Content gRPC service (`containerd.services.content.v1.Content`) as a
 * mechanical adapter over any `ContentStore`, and its service definition (the generated one with
 * copy-free codecs for the messages that carry blob data).
 * @module
 */
export { createContentServer, listBatchSize } from "./server.js";
export { contentServiceDefinition } from "./codec.js";
