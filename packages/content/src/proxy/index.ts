/**
 * `@containerts/content/proxy`: the content store over gRPC (`containerd.services.content.v1.Content`),
 * for clients of containertsd or containerd.
 * @module
 */
export { ProxyContentStore, type ProxyTarget } from "./store.js";
