/**
 * Plugin registrations of the namespaces service: the service (a {@link NamespaceStore} taken from the
 * metadata plugin) and its gRPC adapter.
 * @module
 */
import { PluginType, ServiceId, checkInstance, type AnyRegistration, type Registration } from "@containerts/plugin-registry";
import type { NamespaceStore } from "./store.js";
import { createNamespacesServer, type GrpcServicePlugin } from "./grpc/index.js";

/** What the namespaces service needs from the metadata plugin. */
export interface NamespaceStoreSource {
  namespaceStore(): NamespaceStore;
}

const service: Registration<NamespaceStore> = {
  type: PluginType.Service,
  id: ServiceId.NamespacesService,
  requires: [PluginType.Metadata],
  init: async (ic) => {
    const src = checkInstance<NamespaceStoreSource>(ic.getSingle(PluginType.Metadata), ["namespaceStore"], "metadata plugin");
    return src.namespaceStore();
  },
};

const grpc: Registration<GrpcServicePlugin> = {
  type: PluginType.GRPC,
  id: "namespaces",
  requires: [PluginType.Service],
  init: async (ic) => createNamespacesServer(ic.getById<NamespaceStore>(PluginType.Service, ServiceId.NamespacesService)),
};

/** The namespaces service and its gRPC adapter. */
export const namespacesPlugins: readonly AnyRegistration[] = [service, grpc];
