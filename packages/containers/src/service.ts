/**
 * The containers service (the `io.containerd.service.v1 containers-service` instance): the store plus the
 * events containerd's `services/containers/local.go` publishes after each successful change.
 */
import { EventType, Topic, type Publisher } from "@containerts/events";
import type { Context } from "@containerts/namespaces";
import type { Container, ContainerInput, ContainerStore } from "./container.js";

/**
 * Wraps `store` so that `create`, `update` and `delete` publish `/containers/create`
 * (`containerd.events.ContainerCreate {id, image, runtime {name, options}}`), `/containers/update`
 * (`ContainerUpdate {id, image, labels, snapshot_key}`) and `/containers/delete` (`ContainerDelete {id}`)
 * in the caller's namespace once the change is stored. Reads pass through.
 *
 * Error contract: the store's; when publishing fails the change stays made and the publish error is
 * thrown (as containerd returns it).
 */
export function createContainerService(store: ContainerStore, publisher: Publisher): ContainerStore {
  return {
    get: (ctx: Context, id: string) => store.get(ctx, id),
    list: (ctx: Context, filters?: readonly string[]) => store.list(ctx, filters),

    async create(ctx: Context, container: ContainerInput): Promise<Container> {
      const created = await store.create(ctx, container);
      await publisher.publish(ctx, Topic.ContainerCreate, {
        typeUrl: EventType.ContainerCreate,
        message: {
          id: created.id,
          image: created.image,
          runtime: { name: created.runtime.name, options: created.runtime.options },
        },
      });
      return created;
    },

    async update(ctx: Context, container: ContainerInput, fieldpaths?: readonly string[]): Promise<Container> {
      const updated = await store.update(ctx, container, fieldpaths);
      await publisher.publish(ctx, Topic.ContainerUpdate, {
        typeUrl: EventType.ContainerUpdate,
        message: { id: updated.id, image: updated.image, labels: { ...updated.labels }, snapshotKey: updated.snapshotKey },
      });
      return updated;
    },

    async delete(ctx: Context, id: string): Promise<void> {
      await store.delete(ctx, id);
      await publisher.publish(ctx, Topic.ContainerDelete, { typeUrl: EventType.ContainerDelete, message: { id } });
    },
  };
}
