/**
 * Plugin registrations of tasks: the runtime v2 manager (`io.containerd.runtime.v2 task`), the tasks
 * service (`io.containerd.service.v1 tasks-service`) and its gRPC adapter (`io.containerd.grpc.v1 tasks`).
 * @module
 */
import { resolve } from "node:path";
import { arch } from "node:os";
import { isNotFound } from "@containerts/errdefs";
import { type Publisher, discardPublisher } from "@containerts/events";
import type { ContainerStoreSource } from "@containerts/containers";
import {
  PluginType,
  ServiceId,
  checkInstance,
  type AnyRegistration,
  type PluginPlatform,
  type Registration,
} from "@containerts/plugin-registry";
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import type { TaskService } from "../task.js";
import { ShimManager } from "../runtime/manager.js";
import { createTaskService } from "../local/service.js";
import { createTasksServer } from "../grpc/server.js";

/** Configuration of the runtime plugin (`[plugins."io.containerd.runtime.v2.task"]`). */
export interface RuntimeV2Config extends Record<string, unknown> {
  /** The platforms reported to introspection, `os/arch[/variant]`. Default: this machine's. */
  platforms: string[];
  /** Start shims with `SCHED_CORE=1`. */
  sched_core: boolean;
}

/** The GOARCH name of the machine (containerd's platform strings). */
function goArch(): string {
  const a = arch();
  if (a === "x64") return "amd64";
  if (a === "ia32") return "386";
  if (a === "ppc64") return "ppc64le";
  return a;
}

function parsePlatform(s: string): PluginPlatform {
  const [os = "", architecture = "", variant] = s.split("/");
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** The event exchange when there is one, else a publisher that drops events. */
function publisherOf(get: () => unknown): Publisher {
  let instance: unknown;
  try {
    instance = get();
  } catch (err) {
    if (isNotFound(err)) return discardPublisher;
    throw err;
  }
  return checkInstance<Publisher>(instance, ["publish"], "event plugin");
}

const runtime: Registration<ShimManager, RuntimeV2Config> = {
  type: PluginType.RuntimeV2,
  id: "task",
  requires: [PluginType.Event, PluginType.Metadata],
  config: { platforms: [`linux/${goArch()}`], sched_core: false },
  init: async (ic) => {
    ic.meta.platforms.push(...ic.config.platforms.map(parsePlatform));
    const source = checkInstance<ContainerStoreSource>(ic.getSingle(PluginType.Metadata), ["containerStore"], "metadata plugin");
    const publishBinary = resolve(process.argv[1] ?? process.execPath);
    return ShimManager.open(
      {
        root: ic.properties.rootDir,
        state: ic.properties.stateDir,
        address: ic.properties.grpcAddress,
        ttrpcAddress: ic.properties.ttrpcAddress,
        publishBinary,
        containers: source.containerStore(),
        publisher: publisherOf(() => ic.getById(PluginType.Event, "exchange")),
        log: ic.log,
        schedCore: ic.config.sched_core,
      },
      ic.signal,
    );
  },
};

const service: Registration<TaskService> = {
  type: PluginType.Service,
  id: ServiceId.TasksService,
  requires: [PluginType.RuntimeV2, PluginType.Metadata],
  init: async (ic) => {
    const source = checkInstance<ContainerStoreSource>(ic.getSingle(PluginType.Metadata), ["containerStore"], "metadata plugin");
    const manager = ic.getById<ShimManager>(PluginType.RuntimeV2, "task");
    return createTaskService({ containers: source.containerStore(), runtime: manager, log: ic.log });
  },
};

const grpc: Registration<GrpcServicePlugin> = {
  type: PluginType.GRPC,
  id: "tasks",
  requires: [PluginType.Service],
  init: async (ic) => createTasksServer(ic.getById<TaskService>(PluginType.Service, ServiceId.TasksService)),
};

/** The runtime v2 manager, the tasks service and its gRPC adapter. */
export const tasksPlugins: readonly AnyRegistration[] = [runtime, service, grpc];
