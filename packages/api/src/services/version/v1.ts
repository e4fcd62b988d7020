/**
 * containerd's version service (`containerd.services.version.v1.Version`).
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  VersionClient,
  VersionResponse,
  VersionService,
} from "../../gen/containerd/services/version/v1/version.js";
export type {
  VersionServer,
} from "../../gen/containerd/services/version/v1/version.js";
