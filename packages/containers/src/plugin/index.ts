/**
 * Plugin registrations of containers: the service (`io.containerd.service.v1 containers-service`, the
 * metadata plugin's container store plus event publishing) and its gRPC adapter
 * (`io.containerd.grpc.v1 containers`).
 * @module
 */
import { isNotFound } from "@containerts/errdefs";
import { type Publisher, discardPublisher } from "@containerts/events";
import { PluginType, ServiceId, checkInstance, type AnyRegistration, type Registration } from "@containerts/plugin-registry";
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import type { ContainerStore, ContainerStoreSource } from "../container.js";
import { createContainerService } from "../service.js";
import { createContainersServer } from "../grpc/server.js";

/** The event publisher: the exchange when an event plugin is registered, else one that drops events. */
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

const service: Registration<ContainerStore> = {
  type: PluginType.Service,
  id: ServiceId.ContainersService,
  requires: [PluginType.Metadata, PluginType.Event],
  init: async (ic) => {
    const source = checkInstance<ContainerStoreSource>(ic.getSingle(PluginType.Metadata), ["containerStore"], "metadata plugin");
    return createContainerService(source.containerStore(), publisherOf(() => ic.getSingle(PluginType.Event)));
  },
};

const grpc: Registration<GrpcServicePlugin> = {
  type: PluginType.GRPC,
  id: "containers",
  requires: [PluginType.Service],
  init: async (ic) => createContainersServer(ic.getById<ContainerStore>(PluginType.Service, ServiceId.ContainersService)),
};

/** The containers service and its gRPC adapter. */
export const containersPlugins: readonly AnyRegistration[] = [service, grpc];
