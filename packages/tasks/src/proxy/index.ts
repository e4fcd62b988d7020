/**
 * Clients: the tasks service over gRPC, and a runtime v2 shim's task API over ttrpc.
 * @module
 */
export { ProxyTaskService, type ProxyTarget } from "./tasks.js";
export { ShimTask, type ShimTaskInfo } from "./shim.js";
