/**
 * Plugin registrations of the namespaces service: the service (a {@link NamespaceStore} taken from the
 * metadata plugin, publishing containerd's namespace events through the event exchange) and its gRPC
 * adapter.
 * @module
 */
import { UnknownError, normalize } from "@containerts/errdefs";
import { PluginType, ServiceId, checkInstance, type AnyRegistration, type Registration } from "@containerts/plugin-registry";
import { type Context, withNamespace } from "./context.js";
import type { Namespace, NamespaceStore } from "./store.js";
import { createNamespacesServer, type GrpcServicePlugin } from "./grpc/index.js";

/** What the namespaces service needs from the metadata plugin. */
export interface NamespaceStoreSource {
  namespaceStore(): NamespaceStore;
}

/**
 * What the namespaces service needs from the event exchange (`io.containerd.event.v1`): a publisher of
 * message events, declared here so that this package does not depend on `@containerts/events` (which
 * depends on this one). `@containerts/events`' `Publisher` satisfies it.
 */
export interface NamespaceEventPublisher {
  publish(
    ctx: Context,
    topic: string,
    event: { readonly typeUrl: string; readonly message: Readonly<Record<string, unknown>> },
  ): Promise<void>;
}

/**
 * Wraps a store so that create, update and delete publish `/namespaces/create`, `/namespaces/update`
 * and `/namespaces/delete` after the change, as containerd's namespaces service does: create and update
 * in the caller's namespace, with the labels given (for update: the request's labels, not the result),
 * delete in the deleted namespace. A failed publish fails the call after the change was made
 * (UnknownError with the publisher's message, as containerd returns it unclassed).
 */
function publishingNamespaceStore(store: NamespaceStore, publisher: NamespaceEventPublisher): NamespaceStore {
  const publish = async (ctx: Context, topic: string, typeUrl: string, message: Record<string, unknown>) => {
    try {
      await publisher.publish(ctx, topic, { typeUrl, message });
    } catch (err) {
      throw new UnknownError(normalize(err).message, { cause: err, bare: true });
    }
  };
  return {
    async create(ctx, name, labels = {}) {
      const ns = await store.create(ctx, name, labels);
      await publish(ctx, "/namespaces/create", "containerd.events.NamespaceCreate", { name, labels: { ...labels } });
      return ns;
    },
    get: (ctx, name) => store.get(ctx, name),
    list: (ctx) => store.list(ctx),
    async update(ctx, namespace: Namespace, fieldpaths) {
      const ns = await store.update(ctx, namespace, fieldpaths);
      await publish(ctx, "/namespaces/update", "containerd.events.NamespaceUpdate", {
        name: namespace.name,
        labels: { ...namespace.labels },
      });
      return ns;
    },
    async delete(ctx, name) {
      await store.delete(ctx, name);
      await publish(withNamespace(ctx, name), "/namespaces/delete", "containerd.events.NamespaceDelete", { name });
    },
  };
}

const service: Registration<NamespaceStore> = {
  type: PluginType.Service,
  id: ServiceId.NamespacesService,
  requires: [PluginType.Metadata, PluginType.Event],
  init: async (ic) => {
    const src = checkInstance<NamespaceStoreSource>(ic.getSingle(PluginType.Metadata), ["namespaceStore"], "metadata plugin");
    const publisher = checkInstance<NamespaceEventPublisher>(ic.getSingle(PluginType.Event), ["publish"], "event plugin");
    return publishingNamespaceStore(src.namespaceStore(), publisher);
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
