/**
 * The file-system applier (containerd's `diff/apply`) and the jailed layer extractor it uses.
 * @module
 */
export { FileSystemApplier, type FileSystemApplierOptions } from "./applier.js";
export { applyTar, resolveDeviceNodePolicy, type ApplyTarOptions, type DeviceNodePolicy } from "./apply-tar.js";
