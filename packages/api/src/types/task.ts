/**
 * containerd's task types (package `containerd.v1.types`): Process, ProcessInfo and the Status enum.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  Process,
  ProcessInfo,
  Status,
  statusFromJSON,
  statusToJSON,
} from "../gen/containerd/types/task/task.js";
