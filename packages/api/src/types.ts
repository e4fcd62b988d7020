/**
 * containerd's shared types (package `containerd.types`): Descriptor, Metric, Mount, Platform.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  Descriptor,
} from "./gen/containerd/types/descriptor.js";
export {
  Metric,
} from "./gen/containerd/types/metrics.js";
export {
  Mount,
} from "./gen/containerd/types/mount.js";
export {
  Platform,
} from "./gen/containerd/types/platform.js";
