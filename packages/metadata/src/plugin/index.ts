/**
 * Plugin registrations: the local content store (`io.containerd.content.v1.content`), the metadata
 * database (`io.containerd.metadata.v1.bolt`, here a level database) and the garbage-collection
 * scheduler (`io.containerd.gc.v1.scheduler`).
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Level } from "level";
import { PluginType, type AnyRegistration, type Registration } from "@containerts/plugin-registry";
import type { ContentStore } from "@containerts/content";
import type { LeaseManager } from "@containerts/leases";
import { LocalContentStore } from "@containerts/content/local";
import type { NamespaceStore } from "@containerts/namespaces";
import type { ContainerStore } from "@containerts/containers";
import type { ImageStore } from "@containerts/images";
import type { Snapshotter } from "@containerts/snapshots";
import { isNotFound } from "@containerts/errdefs";
import { checkInstance } from "@containerts/plugin-registry";
import type { MetadataSnapshotter } from "../snapshots.js";
import { DB, databaseDirName, createNamespaceStore, createGcScheduler, type GcScheduler, type ContentSharingPolicy } from "../index.js";
import { MetadataContainerStore } from "../containers.js";
import { MetadataImageStore } from "../images.js";
import type { LevelDatabase } from "../tx.js";

/** The metadata plugin's instance: the database plus the stores handed to services. */
export interface MetadataPlugin {
  readonly db: DB;
  namespaceStore(): NamespaceStore;
  contentStore(): ContentStore;
  /** The lease manager (satisfies `@containerts/leases`' `LeaseManagerSource`). */
  leaseManager(): LeaseManager;
  /** The container store (satisfies `@containerts/containers`' `ContainerStoreSource`). */
  containerStore(): ContainerStore;
  /** The image store (satisfies `@containerts/images`' `ImageStoreSource`). */
  imageStore(): ImageStore;
  /**
   * The namespaced snapshotters, one per loaded `io.containerd.snapshotter.v1` plugin, by plugin id
   * (containerd's `DB.Snapshotters()`); the snapshots service wraps them.
   */
  snapshotters(): ReadonlyMap<string, Snapshotter>;
  close(): Promise<void>;
}

const snapshotterMethods = ["stat", "update", "usage", "mounts", "prepare", "view", "commit", "remove", "walk", "cleanup", "close"] as const;

/** The namespaced snapshotters over every snapshotter plugin that loaded (skipped or failed ones are left out). */
function namespacedSnapshotters(ic: { getByType<T>(type: string): ReadonlyMap<string, T> }, db: DB): Map<string, MetadataSnapshotter> {
  let backends: ReadonlyMap<string, unknown> = new Map();
  try {
    backends = ic.getByType<unknown>(PluginType.Snapshot);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const out = new Map<string, MetadataSnapshotter>();
  for (const [name, instance] of backends) {
    out.set(name, db.snapshotter(name, checkInstance<Snapshotter>(instance, snapshotterMethods, `${PluginType.Snapshot}.${name} plugin`)));
  }
  return out;
}

const content: Registration<ContentStore> = {
  type: PluginType.Content,
  id: "content",
  init: async (ic) => {
    await mkdir(ic.properties.rootDir, { recursive: true, mode: 0o711 });
    ic.meta.exports["root"] = ic.properties.rootDir;
    return LocalContentStore.open(ic.properties.rootDir);
  },
};

interface MetadataConfig {
  content_sharing_policy: string;
}

const metadata: Registration<MetadataPlugin, MetadataConfig> = {
  type: PluginType.Metadata,
  // containerd's id; the database is level (LevelDB), not bolt, but clients and `ctr plugins ls` know this id.
  id: "bolt",
  requires: [PluginType.Content, PluginType.Snapshot],
  config: { content_sharing_policy: "shared" },
  init: async (ic) => {
    await mkdir(ic.properties.rootDir, { recursive: true, mode: 0o711 });
    const path = join(ic.properties.rootDir, databaseDirName);
    const policy = ic.config.content_sharing_policy as ContentSharingPolicy;
    ic.meta.exports["path"] = path;
    ic.meta.exports["policy"] = policy;
    const level = new Level<string, string>(path, { keyEncoding: "utf8", valueEncoding: "utf8" });
    const db = await DB.open(level as unknown as LevelDatabase, {
      content: ic.getSingle<ContentStore>(PluginType.Content),
      contentSharingPolicy: policy,
    });
    const namespaces = createNamespaceStore(db);
    const containers = new MetadataContainerStore(db);
    const images = new MetadataImageStore(db);
    const snapshotters = namespacedSnapshotters(ic, db);
    return {
      db,
      namespaceStore: () => namespaces,
      contentStore: () => db.contentStore(),
      leaseManager: () => db.leaseManager(),
      containerStore: () => containers,
      imageStore: () => images,
      snapshotters: () => snapshotters,
      close: async () => {
        for (const s of snapshotters.values()) await s.close().catch(() => undefined);
        await db.close();
      },
    };
  },
};

interface SchedulerConfig {
  pause_threshold: number;
  deletion_threshold: number;
  mutation_threshold: number;
  schedule_delay: string;
  startup_delay: string;
}

function durationMs(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n;
}

const scheduler: Registration<GcScheduler, SchedulerConfig> = {
  type: PluginType.GC,
  id: "scheduler",
  requires: [PluginType.Metadata],
  config: { pause_threshold: 0.02, deletion_threshold: 0, mutation_threshold: 100, schedule_delay: "0ms", startup_delay: "100ms" },
  init: async (ic) => {
    const md = ic.getSingle<MetadataPlugin>(PluginType.Metadata);
    ic.meta.exports["PauseThreshold"] = String(ic.config.pause_threshold);
    ic.meta.exports["DeletionThreshold"] = String(ic.config.deletion_threshold);
    ic.meta.exports["MutationThreshold"] = String(ic.config.mutation_threshold);
    ic.meta.exports["ScheduleDelay"] = ic.config.schedule_delay;
    ic.meta.exports["StartupDelay"] = ic.config.startup_delay;
    return createGcScheduler(md.db, {
      pauseThreshold: ic.config.pause_threshold,
      deletionThreshold: ic.config.deletion_threshold,
      mutationThreshold: ic.config.mutation_threshold,
      scheduleDelayMs: durationMs(ic.config.schedule_delay),
      startupDelayMs: durationMs(ic.config.startup_delay),
    });
  },
};

/** The content, metadata and GC scheduler registrations. */
export const metadataPlugins: readonly AnyRegistration[] = [content, metadata, scheduler];
