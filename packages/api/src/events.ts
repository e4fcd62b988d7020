/**
 * containerd's event messages (package `containerd.events`, plus the image events of `containerd.services.images.v1`).
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  ContainerCreate,
  ContainerCreate_Runtime,
  ContainerDelete,
  ContainerUpdate,
} from "./gen/containerd/events/container.js";
export {
  ContentDelete,
} from "./gen/containerd/events/content.js";
export {
  NamespaceCreate,
  NamespaceDelete,
  NamespaceUpdate,
} from "./gen/containerd/events/namespace.js";
export {
  SnapshotCommit,
  SnapshotPrepare,
  SnapshotRemove,
} from "./gen/containerd/events/snapshot.js";
export {
  TaskCheckpointed,
  TaskCreate,
  TaskDelete,
  TaskExecAdded,
  TaskExecStarted,
  TaskExit,
  TaskIO,
  TaskOOM,
  TaskPaused,
  TaskResumed,
  TaskStart,
} from "./gen/containerd/events/task.js";
export {
  ImageCreate,
  ImageDelete,
  ImageUpdate,
} from "./gen/containerd/services/images/v1/events.js";
