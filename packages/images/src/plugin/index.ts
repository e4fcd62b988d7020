/**
 * `@containerts/images/plugin`: the images service (`io.containerd.service.v1 images-service`, the image
 * store of the metadata plugin wrapped by the event-publishing service layer) and its gRPC adapter
 * (`io.containerd.grpc.v1 images`).
 * @module
 */
import { isNotFound } from "@containerts/errdefs";
import { type Publisher, discardPublisher } from "@containerts/events";
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import { PluginType, ServiceId, checkInstance, type AnyRegistration, type InitContext, type Registration } from "@containerts/plugin-registry";

import type { ImageStore, ImageStoreSource } from "../image.js";
import { createImageService } from "../service.js";
import { createImagesServer } from "../grpc/server.js";

/** The event exchange when one is registered; events are dropped when none is. */
function publisherOf(ic: InitContext): Publisher {
  let instance: unknown;
  try {
    instance = ic.getSingle<unknown>(PluginType.Event);
  } catch (err) {
    if (isNotFound(err)) return discardPublisher;
    throw err;
  }
  return checkInstance<Publisher>(instance, ["publish"], "event plugin");
}

const service: Registration<ImageStore> = {
  type: PluginType.Service,
  id: ServiceId.ImagesService,
  // GC: synchronous deletes wait for a collection through the scheduler the GC plugin attaches.
  requires: [PluginType.Metadata, PluginType.GC, PluginType.Event],
  init: async (ic) => {
    const source = checkInstance<ImageStoreSource>(ic.getSingle(PluginType.Metadata), ["imageStore"], "metadata plugin");
    return createImageService(source.imageStore(), { publisher: publisherOf(ic) });
  },
};

const grpc: Registration<GrpcServicePlugin> = {
  type: PluginType.GRPC,
  id: "images",
  requires: [PluginType.Service],
  init: async (ic) => createImagesServer(ic.getById<ImageStore>(PluginType.Service, ServiceId.ImagesService)),
};

/** The images service and its gRPC adapter. */
export const imagesPlugins: readonly AnyRegistration[] = [service, grpc];
