/**
 * containerd's snapshots service (`containerd.services.snapshots.v1.Snapshots`).
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  CleanupRequest,
  CommitSnapshotRequest,
  Info,
  Kind,
  kindFromJSON,
  kindToJSON,
  ListSnapshotsRequest,
  ListSnapshotsResponse,
  MountsRequest,
  MountsResponse,
  PrepareSnapshotRequest,
  PrepareSnapshotResponse,
  RemoveSnapshotRequest,
  SnapshotsClient,
  SnapshotsService,
  StatSnapshotRequest,
  StatSnapshotResponse,
  UpdateSnapshotRequest,
  UpdateSnapshotResponse,
  UsageRequest,
  UsageResponse,
  ViewSnapshotRequest,
  ViewSnapshotResponse,
} from "../../gen/containerd/services/snapshots/v1/snapshots.js";
export type {
  SnapshotsServer,
} from "../../gen/containerd/services/snapshots/v1/snapshots.js";
