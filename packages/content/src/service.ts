/**
 * The content service layer (containerd's `services/content/store.go`): the store the daemon's
 * `io.containerd.service.v1 content-service` plugin hands to the gRPC adapter. It is the namespaced
 * store itself, plus the `/content/delete` event after each successful delete.
 */
import type { Context } from "@containerts/namespaces";

import type { ContentStore } from "./content.js";
import type { Digest } from "./digest.js";

/** The topic of the event published after a blob is deleted. */
export const contentDeleteTopic = "/content/delete";
/** The type URL of that event (`containerd.events.ContentDelete{digest}`). */
export const contentDeleteEventType = "containerd.events.ContentDelete";

/**
 * What the content service needs from an event exchange (`@containerts/events`' `Publisher`
 * satisfies it): publish an event, given as its type URL and its fields, on a topic in the namespace
 * of `ctx`.
 */
export interface EventPublisher {
  publish(ctx: Context, topic: string, event: { readonly typeUrl: string; readonly message: Readonly<Record<string, unknown>> }): Promise<void>;
}

/**
 * Wraps `store` as the content service: every method delegates; `delete` publishes
 * `/content/delete {digest}` through `publisher` (when given) after the blob is gone, and fails with
 * the publisher's error if publishing fails, as upstream does.
 */
export function createContentService(store: ContentStore, publisher?: EventPublisher): ContentStore {
  return {
    info: (ctx, dgst) => store.info(ctx, dgst),
    update: (ctx, info, fieldpaths) => store.update(ctx, info, fieldpaths),
    walk: (ctx, fn, filters) => store.walk(ctx, fn, filters),
    delete: async (ctx: Context, dgst: Digest) => {
      await store.delete(ctx, dgst);
      await publisher?.publish(ctx, contentDeleteTopic, { typeUrl: contentDeleteEventType, message: { digest: dgst } });
    },
    readerAt: (ctx, desc) => store.readerAt(ctx, desc),
    read: (ctx, dgst, options) => store.read(ctx, dgst, options),
    status: (ctx, ref) => store.status(ctx, ref),
    listStatuses: (ctx, filters) => store.listStatuses(ctx, filters),
    abort: (ctx, ref) => store.abort(ctx, ref),
    writer: (ctx, options) => store.writer(ctx, options),
  };
}
