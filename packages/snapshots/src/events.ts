/**
 * The snapshots service layer (containerd's `services/snapshots/snapshotters.go`): a snapshotter that
 * publishes containerd's snapshot events after the calls that change something. Pure composition over
 * the {@link Snapshotter} interface; no I/O of its own.
 */
import { NotImplementedError } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import type { Snapshotter } from "./snapshotter.js";

/** An event as the snapshots service publishes it: a type URL and the message fields (camelCase). */
export interface SnapshotEvent {
  readonly typeUrl: string;
  readonly message: Readonly<Record<string, unknown>>;
}

/**
 * What the snapshots service needs to publish events (structurally the `Publisher` of
 * `@containerts/events`). The namespace comes from `ctx`.
 */
export interface SnapshotEventPublisher {
  publish(ctx: Context, topic: string, event: SnapshotEvent): Promise<void>;
}

/** The topics and type URLs of containerd's snapshot events (api-compat §2.6). */
export const SnapshotEvents = {
  prepare: { topic: "/snapshot/prepare", typeUrl: "containerd.events.SnapshotPrepare" },
  commit: { topic: "/snapshot/commit", typeUrl: "containerd.events.SnapshotCommit" },
  remove: { topic: "/snapshot/remove", typeUrl: "containerd.events.SnapshotRemove" },
} as const;

/**
 * Wraps `snapshotter` so that a successful prepare publishes `/snapshot/prepare {key, parent}`, commit
 * `/snapshot/commit {key, name}` and remove `/snapshot/remove {key}` (view publishes nothing), as the
 * `io.containerd.service.v1 snapshots-service` plugin does. A failed publish fails the call after the
 * change was made, as in containerd.
 *
 * As in containerd 1.6, the wrapper does not offer the backend's cleanup: `cleanup` throws NotImplemented
 * `snapshotter does not implement Cleanup method` (the gRPC API answers UNIMPLEMENTED).
 */
export function withSnapshotEvents(snapshotter: Snapshotter, publisher: SnapshotEventPublisher): Snapshotter {
  const s = snapshotter;
  return {
    stat: (ctx, key) => s.stat(ctx, key),
    update: (ctx, info, fieldpaths) => s.update(ctx, info, fieldpaths),
    usage: (ctx, key) => s.usage(ctx, key),
    mounts: (ctx, key) => s.mounts(ctx, key),
    async prepare(ctx, key, parent, options) {
      const mounts = await s.prepare(ctx, key, parent, options);
      await publisher.publish(ctx, SnapshotEvents.prepare.topic, {
        typeUrl: SnapshotEvents.prepare.typeUrl,
        message: { key, parent: parent ?? "" },
      });
      return mounts;
    },
    view: (ctx, key, parent, options) => s.view(ctx, key, parent, options),
    async commit(ctx, name, key, options) {
      await s.commit(ctx, name, key, options);
      await publisher.publish(ctx, SnapshotEvents.commit.topic, { typeUrl: SnapshotEvents.commit.typeUrl, message: { key, name } });
    },
    async remove(ctx, key) {
      await s.remove(ctx, key);
      await publisher.publish(ctx, SnapshotEvents.remove.topic, { typeUrl: SnapshotEvents.remove.typeUrl, message: { key } });
    },
    walk: (ctx, fn, filters) => s.walk(ctx, fn, filters),
    cleanup: async () => {
      throw new NotImplementedError("snapshotter does not implement Cleanup method");
    },
    close: () => s.close(),
  };
}
