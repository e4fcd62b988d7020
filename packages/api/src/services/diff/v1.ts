/**
 * containerd's diff service (`containerd.services.diff.v1.Diff`): apply and compute layers.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  ApplyRequest,
  ApplyResponse,
  DiffClient,
  DiffRequest,
  DiffResponse,
  DiffService,
} from "../../gen/containerd/services/diff/v1/diff.js";
export type {
  DiffServer,
} from "../../gen/containerd/services/diff/v1/diff.js";
