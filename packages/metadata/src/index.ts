/**
 * `@containerts/metadata`: the level-backed metadata database of containerts: namespaces, the
 * namespaced content store, leases, generic object records for the images/containers/snapshots stores,
 * and garbage collection with its scheduler. The key schema is drawn at the top of `schema.ts`.
 *
 * @packageDocumentation
 */
export {
  DB,
  type DBOptions,
  type ContentSharingPolicy,
  type SnapshotterCollector,
  type CollectionScheduler,
  type WriteStats,
  type MutationCallback,
} from "./db.js";
export type { ReadTx, WriteTx, DirtyTarget, EntriesOptions, LevelDatabase } from "./tx.js";
export {
  schemaVersion,
  dbVersion,
  key,
  decodeKey,
  under,
  compareKeys,
  keys,
  type KeyRange,
  type Migration,
  type VersionRecord,
} from "./schema.js";
export {
  defineObjectKind,
  labelRefs,
  isGcRoot,
  imagesKindName,
  containersKindName,
  snapshotsKindName,
  snapshotsKindPrefix,
  type ObjectKind,
  type GcRefs,
  type SnapshotRef,
} from "./objects.js";
export { MetadataContentStore, ingestExpiryMs } from "./content.js";
export { MetadataLeaseManager } from "./leases.js";
export { MetadataImageStore } from "./images.js";
export { MetadataSnapshotter, snapshotObjectKind, type SnapshotRecord } from "./snapshots.js";
export { MetadataContainerStore, containersKind } from "./containers.js";
export { createNamespaceStore, type MetadataNamespaceStore } from "./namespaces.js";
export type { GcStats, GcRemoved } from "./gc.js";
export {
  createGcScheduler,
  resolveGcSchedulerOptions,
  type GcScheduler,
  type GcSchedulerOptions,
  type GcSchedulerStats,
  type GcTarget,
  type GcTotals,
  type ResolvedGcSchedulerOptions,
} from "./scheduler.js";

/**
 * The directory (under the metadata plugin's root, `<root>/io.containerd.metadata.v1.bolt`) that holds
 * the level database; containerd's bolt file there is `meta.db`.
 */
export const databaseDirName = "meta.level";
