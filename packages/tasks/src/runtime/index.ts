/**
 * The runtime v2 shim manager: shim binaries, bundles, the `start`/`delete` protocol, ttrpc connections,
 * dead-shim cleanup and re-adoption after a restart.
 * @module
 */
export { ShimManager, type ShimManagerOptions, type ManagerLogger } from "./manager.js";
export { Bundle, BundleFile } from "./bundle.js";
export { RuntimeResolver, shimStart, shimDelete, type ShimCommandConfig, type ShimDeleteResult } from "./shim-binary.js";
export { ShimTask, type ShimTaskInfo } from "../proxy/shim.js";
