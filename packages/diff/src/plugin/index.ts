/**
 * Plugin registrations of the diff service: the `walking` differ (`io.containerd.differ.v1`), the diff
 * service (`io.containerd.service.v1 diff-service`) and its gRPC adapter (`io.containerd.grpc.v1 diff`).
 * @module
 */
import { join } from "node:path";
import type { ContentStoreSource } from "@containerts/content";
import { NotFoundError } from "@containerts/errdefs";
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import { PluginType, ServiceId, checkInstance, type AnyRegistration, type Registration } from "@containerts/plugin-registry";
import { FileSystemApplier } from "../apply/applier.js";
import type { DiffService } from "../diff.js";
import { createDiffServer } from "../grpc/server.js";
import { createDiffService } from "../service.js";
import { WalkingComparer } from "../walking/comparer.js";

/** Go's name for this machine's architecture (`process.arch` → `GOARCH`). */
function goArch(): string {
  switch (process.arch) {
    case "x64":
      return "amd64";
    case "ia32":
      return "386";
    case "ppc64":
      return "ppc64le";
    default:
      return process.arch;
  }
}

/** Configuration of the `walking` differ. */
export interface WalkingDifferConfig {
  /** Device nodes in layers: `auto` (create as root outside a user namespace, else skip), `create`, `skip`, `reject`. */
  device_nodes: string;
}

const walking: Registration<DiffService, WalkingDifferConfig> = {
  type: PluginType.Differ,
  id: "walking",
  // containerd's walking differ takes the (namespaced) content store from the metadata plugin; requiring
  // the service plugins instead would form a cycle with diff-service, which requires the differs.
  requires: [PluginType.Metadata],
  config: { device_nodes: "auto" },
  init: async (ic) => {
    const md = checkInstance<ContentStoreSource>(ic.getSingle(PluginType.Metadata), ["contentStore"], "metadata plugin");
    ic.meta.platforms.push({ os: "linux", architecture: goArch() });
    const store = md.contentStore();
    const tempMountRoot = join(ic.properties.root, "tmpmounts");
    const policy = ic.config.device_nodes;
    const deviceNodes = policy === "create" || policy === "skip" || policy === "reject" ? policy : "auto";
    const applier = new FileSystemApplier({ store, tempMountRoot, deviceNodes, log: ic.log });
    const comparer = new WalkingComparer({ store, tempMountRoot, log: ic.log });
    return {
      apply: (ctx, desc, mounts, options) => applier.apply(ctx, desc, mounts, options),
      compare: (ctx, lower, upper, options) => comparer.compare(ctx, lower, upper, options),
    };
  },
};

/** Configuration of the diff service: the differs to try, in order (containerd's `default`). */
export interface DiffServiceConfig {
  default: string[];
}

const service: Registration<DiffService, DiffServiceConfig> = {
  type: PluginType.Service,
  id: ServiceId.DiffService,
  requires: [PluginType.Differ],
  config: { default: ["walking"] },
  init: async (ic) => {
    const differs = ic.getByType<DiffService>(PluginType.Differ);
    const ordered = ic.config.default.map((name) => {
      const d = differs.get(name);
      if (d === undefined) throw new NotFoundError(`needed differ not loaded: ${name}`);
      return d;
    });
    return createDiffService(ordered);
  },
};

const grpc: Registration<GrpcServicePlugin> = {
  type: PluginType.GRPC,
  id: "diff",
  requires: [PluginType.Service],
  init: async (ic) => createDiffServer(ic.getById<DiffService>(PluginType.Service, ServiceId.DiffService)),
};

/** The walking differ, the diff service and its gRPC adapter, in registration order. */
export const diffPlugins: readonly AnyRegistration[] = [walking, service, grpc] as readonly AnyRegistration[];
