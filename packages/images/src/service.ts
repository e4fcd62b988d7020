/**
 * The images service layer (the `io.containerd.service.v1 images-service` instance): an
 * {@link ImageStore} over another store that publishes containerd's image events after each change.
 * It speaks native types; the gRPC adapter over it is mechanical.
 */
import { type EventPayload, EventType, type Publisher, Topic, discardPublisher } from "@containerts/events";
import type { Context } from "@containerts/namespaces";

import { type DeleteImageOptions, type Image, type ImageInput, type ImageStore, validateImageName } from "./image.js";

/** Options of {@link createImageService}. */
export interface ImageServiceOptions {
  /** Where events go (default: dropped). */
  readonly publisher?: Publisher;
}

function payload(typeUrl: string, message: Record<string, unknown>): EventPayload {
  return { typeUrl, message };
}

/**
 * Wraps `store` so that every successful change publishes an event in the caller's namespace:
 * `/images/create` and `/images/update` with `{ name, labels }` of the stored image (type URLs
 * `containerd.services.images.v1.ImageCreate` / `ImageUpdate`), `/images/delete` with `{ name }`
 * (`ImageDelete`). Create and update refuse an empty name first with `Image.Name required`.
 *
 * Error contract: the store's; a failed publish fails the call after the change was made (as upstream).
 */
export function createImageService(store: ImageStore, options: ImageServiceOptions = {}): ImageStore {
  const publisher = options.publisher ?? discardPublisher;
  return {
    get: (ctx: Context, name: string) => store.get(ctx, name),
    list: (ctx: Context, filters?: readonly string[]) => store.list(ctx, filters),
    async create(ctx: Context, image: ImageInput): Promise<Image> {
      validateImageName(image.name);
      const created = await store.create(ctx, image);
      await publisher.publish(ctx, Topic.ImageCreate, payload(EventType.ImageCreate, { name: created.name, labels: { ...created.labels } }));
      return created;
    },
    async update(ctx: Context, image: ImageInput, fieldpaths?: readonly string[]): Promise<Image> {
      validateImageName(image.name);
      const updated = await store.update(ctx, image, fieldpaths);
      await publisher.publish(ctx, Topic.ImageUpdate, payload(EventType.ImageUpdate, { name: updated.name, labels: { ...updated.labels } }));
      return updated;
    },
    async delete(ctx: Context, name: string, options?: DeleteImageOptions): Promise<void> {
      await store.delete(ctx, name, options);
      await publisher.publish(ctx, Topic.ImageDelete, payload(EventType.ImageDelete, { name }));
    },
  };
}
