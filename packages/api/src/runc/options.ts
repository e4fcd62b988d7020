/**
 * Options of containerd's runc shims (package `containerd.runc.v1`): Options, CheckpointOptions, ProcessDetails.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  CheckpointOptions,
  Options,
  ProcessDetails,
} from "../gen/containerd/runc/v1/options.js";
