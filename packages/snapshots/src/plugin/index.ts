/**
 * Plugin registrations: the `overlayfs` and `native` snapshotters (`io.containerd.snapshotter.v1`), the
 * snapshots service (`io.containerd.service.v1 snapshots-service`: the metadata plugin's namespaced
 * snapshotters, publishing events) and its gRPC adapter (`io.containerd.grpc.v1 snapshots`).
 * @module
 */
import { Level } from "level";
import { isNotFound, isFailedPrecondition } from "@containerts/errdefs";
import {
  PluginType,
  ServiceId,
  SkipPluginError,
  checkInstance,
  type AnyRegistration,
  type InitContext,
  type PluginPlatform,
  type Registration,
} from "@containerts/plugin-registry";
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import type { Snapshotter } from "../snapshotter.js";
import { withSnapshotEvents, type SnapshotEventPublisher } from "../events.js";
import { OverlaySnapshotter } from "../overlay/overlay.js";
import { NativeSnapshotter } from "../native/native.js";
import type { SnapshotDatabase } from "../storage/metastore.js";
import { createSnapshotsServer } from "../grpc/server.js";

/**
 * What the snapshots service needs from the metadata plugin: its namespaced snapshotters by name
 * (containerd's `DB.Snapshotters()`). Declared here so that this package does not depend on metadata.
 */
export interface SnapshottersSource {
  snapshotters(): ReadonlyMap<string, Snapshotter>;
}

/** Opens a snapshotter's metadata database on disk (`level`, string keys and values). */
function openLevel(location: string): SnapshotDatabase {
  return new Level<string, string>(location, { keyEncoding: "utf8", valueEncoding: "utf8" }) as unknown as SnapshotDatabase;
}

/** The platform of this process as containerd's `platforms.DefaultSpec()` names it. */
export function defaultPlatform(): PluginPlatform {
  switch (process.arch) {
    case "x64":
      return { os: "linux", architecture: "amd64" };
    case "arm64":
      return { os: "linux", architecture: "arm64", variant: "v8" };
    case "arm":
      return { os: "linux", architecture: "arm", variant: "v7" };
    case "ia32":
      return { os: "linux", architecture: "386" };
    case "ppc64":
      return { os: "linux", architecture: "ppc64le" };
    default:
      return { os: "linux", architecture: process.arch };
  }
}

/** Configuration of the overlayfs plugin (`[plugins."io.containerd.snapshotter.v1.overlayfs"]`). */
export interface OverlayPluginConfig {
  /** Root directory; empty means `<root>/io.containerd.snapshotter.v1.overlayfs`. */
  root_path: string;
  /** Add `containerd.io/snapshot/overlay.upperdir` to stat and walk results. */
  upperdir_label: boolean;
}

/** Configuration of the native plugin (`[plugins."io.containerd.snapshotter.v1.native"]`). */
export interface NativePluginConfig {
  /** Root directory; empty means `<root>/io.containerd.snapshotter.v1.native`. */
  root_path: string;
}

function rootOf(ic: InitContext<{ root_path: string }>): string {
  const root = ic.config.root_path !== "" ? ic.config.root_path : ic.properties.rootDir;
  ic.meta.platforms.push(defaultPlatform());
  ic.meta.exports["root"] = root;
  return root;
}

const overlayfs: Registration<Snapshotter, OverlayPluginConfig> = {
  type: PluginType.Snapshot,
  id: "overlayfs",
  config: { root_path: "", upperdir_label: false },
  init: async (ic) => {
    const root = rootOf(ic);
    try {
      // As containerd registers it: removal is asynchronous, the directories go at the GC's cleanup.
      return await OverlaySnapshotter.open({ root, openDatabase: openLevel, upperdirLabel: ic.config.upperdir_label, asyncRemove: true });
    } catch (err) {
      if (isFailedPrecondition(err)) throw new SkipPluginError((err as Error).message, { cause: err });
      throw err;
    }
  },
};

const native: Registration<Snapshotter, NativePluginConfig> = {
  type: PluginType.Snapshot,
  id: "native",
  config: { root_path: "" },
  init: async (ic) => NativeSnapshotter.open({ root: rootOf(ic), openDatabase: openLevel }),
};

const discard: SnapshotEventPublisher = { publish: async () => undefined };

const service: Registration<ReadonlyMap<string, Snapshotter>> = {
  type: PluginType.Service,
  id: ServiceId.SnapshotsService,
  requires: [PluginType.Event, PluginType.Metadata],
  init: async (ic) => {
    const source = checkInstance<SnapshottersSource>(ic.getSingle(PluginType.Metadata), ["snapshotters"], "metadata plugin");
    let publisher = discard;
    try {
      publisher = checkInstance<SnapshotEventPublisher>(ic.getSingle(PluginType.Event), ["publish"], "event plugin");
    } catch (err) {
      // No event plugin is registered at all: snapshots work, nothing is published.
      if (!isNotFound(err)) throw err;
    }
    const out = new Map<string, Snapshotter>();
    for (const [name, sn] of source.snapshotters()) out.set(name, withSnapshotEvents(sn, publisher));
    return out;
  },
};

const grpc: Registration<GrpcServicePlugin> = {
  type: PluginType.GRPC,
  id: "snapshots",
  requires: [PluginType.Service],
  init: async (ic) => createSnapshotsServer(ic.getById<ReadonlyMap<string, Snapshotter>>(PluginType.Service, ServiceId.SnapshotsService)),
};

/** The snapshotters, the snapshots service and its gRPC adapter, in registration order. */
export const snapshotsPlugins: readonly AnyRegistration[] = [overlayfs, native, service, grpc];
