/**
 * `@containerts/content/plugin`: the content service (`io.containerd.service.v1 content-service`, the
 * metadata database's namespaced store with `/content/delete` events) and its gRPC adapter
 * (`io.containerd.grpc.v1 content`). The local blob store itself (`io.containerd.content.v1 content`)
 * is registered by `@containerts/metadata/plugin`, which opens the database over it.
 * @module
 */
import { isNotFound } from "@containerts/errdefs";
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import {
  PluginType,
  ServiceId,
  checkInstance,
  type AnyRegistration,
  type InitContext,
  type Registration,
} from "@containerts/plugin-registry";

import type { ContentStore, ContentStoreSource } from "./content.js";
import { createContentServer } from "./grpc/server.js";
import { createContentService, type EventPublisher } from "./service.js";

export { createContentService, contentDeleteEventType, contentDeleteTopic, type EventPublisher } from "./service.js";

/**
 * The event exchange, when one is registered and initialized (`io.containerd.event.v1`, preferably the
 * `exchange` plugin); undefined otherwise, and the service then publishes nothing.
 */
function eventPublisher(ic: InitContext<object>): EventPublisher | undefined {
  let plugins: ReadonlyMap<string, unknown>;
  try {
    plugins = ic.getByType<unknown>(PluginType.Event);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const instance = plugins.get("exchange") ?? plugins.values().next().value;
  if (instance === undefined) {
    ic.log.warn("no event exchange initialized: content events are not published");
    return undefined;
  }
  return checkInstance<EventPublisher>(instance, ["publish"], `${PluginType.Event} plugin`);
}

const service: Registration<ContentStore> = {
  type: PluginType.Service,
  id: ServiceId.ContentService,
  requires: [PluginType.Event, PluginType.Metadata],
  init: async (ic) => {
    const source = checkInstance<ContentStoreSource>(ic.getSingle(PluginType.Metadata), ["contentStore"], "metadata plugin");
    return createContentService(source.contentStore(), eventPublisher(ic));
  },
};

const grpc: Registration<GrpcServicePlugin> = {
  type: PluginType.GRPC,
  id: "content",
  requires: [PluginType.Service],
  init: async (ic) => createContentServer(ic.getById<ContentStore>(PluginType.Service, ServiceId.ContentService)),
};

/** The content service and its gRPC adapter, in registration order. */
export const contentPlugins: readonly AnyRegistration[] = [service, grpc];
