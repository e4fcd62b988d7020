/**
 * A snapshotter over the daemon's Snapshots gRPC service (containerd's `snapshots/proxy`).
 * @module
 */
import { SnapshotsClient } from "@containerts/api/services/snapshots/v1";
import { UnknownError } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { parseFilters } from "@containerts/namespaces";
import { callStream, callUnary } from "@containerts/namespaces/grpc";
import type { ProxyTarget } from "@containerts/namespaces/proxy";
import type {
  Mount,
  SnapshotInfo,
  SnapshotInfoUpdate,
  SnapshotOptions,
  Snapshotter,
  Usage,
  WalkFunc,
} from "../snapshotter.js";
import { infoFromProto, infoUpdateToProto, mountsFromProto, usageFromProto } from "../grpc/convert.js";

/**
 * {@link Snapshotter} implemented over the Snapshots service for one snapshotter name (`overlayfs`,
 * `native`, …). Calls carry the context's namespace and lease; errors come back with their kinds and
 * the daemon's messages. `walk` checks its filters locally first, so a filter that does not parse is
 * InvalidArgument (the 1.6 server would report it as Unknown). `cleanup` is whatever the daemon answers
 * (containerd 1.6 and containertsd: NotImplemented).
 */
export class ProxySnapshotter implements Snapshotter {
  readonly #c: SnapshotsClient;
  readonly #name: string;
  readonly #ownsChannel: boolean;
  #closed = false;

  /**
   * Creates the proxy of snapshotter `snapshotter` at `target`. When `target` shares a channel
   * (`options.channelOverride`), {@link close} leaves that channel open.
   */
  constructor(target: ProxyTarget, snapshotter: string) {
    this.#c = new SnapshotsClient(target.address, target.credentials, target.options);
    this.#name = snapshotter;
    this.#ownsChannel = target.options.channelOverride === undefined;
  }

  /** The snapshotter name the calls carry. */
  get name(): string {
    return this.#name;
  }

  async stat(ctx: Context, key: string): Promise<SnapshotInfo> {
    const res = await callUnary(this.#c.stat.bind(this.#c), { snapshotter: this.#name, key }, ctx);
    if (res.info === undefined) throw new UnknownError(`stat ${key}: response without info`, { bare: true });
    return infoFromProto(res.info);
  }

  async update(ctx: Context, info: SnapshotInfoUpdate, fieldpaths?: readonly string[]): Promise<SnapshotInfo> {
    const res = await callUnary(
      this.#c.update.bind(this.#c),
      { snapshotter: this.#name, info: infoUpdateToProto(info), updateMask: fieldpaths === undefined ? [] : [...fieldpaths] },
      ctx,
    );
    if (res.info === undefined) throw new UnknownError(`update ${info.name}: response without info`, { bare: true });
    return infoFromProto(res.info);
  }

  async usage(ctx: Context, key: string): Promise<Usage> {
    return usageFromProto(await callUnary(this.#c.usage.bind(this.#c), { snapshotter: this.#name, key }, ctx));
  }

  async mounts(ctx: Context, key: string): Promise<Mount[]> {
    const res = await callUnary(this.#c.mounts.bind(this.#c), { snapshotter: this.#name, key }, ctx);
    return mountsFromProto(res.mounts);
  }

  async prepare(ctx: Context, key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]> {
    const res = await callUnary(
      this.#c.prepare.bind(this.#c),
      { snapshotter: this.#name, key, parent: parent ?? "", labels: { ...(options?.labels ?? {}) } },
      ctx,
    );
    return mountsFromProto(res.mounts);
  }

  async view(ctx: Context, key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]> {
    const res = await callUnary(
      this.#c.view.bind(this.#c),
      { snapshotter: this.#name, key, parent: parent ?? "", labels: { ...(options?.labels ?? {}) } },
      ctx,
    );
    return mountsFromProto(res.mounts);
  }

  async commit(ctx: Context, name: string, key: string, options?: SnapshotOptions): Promise<void> {
    await callUnary(
      this.#c.commit.bind(this.#c),
      { snapshotter: this.#name, name, key, labels: { ...(options?.labels ?? {}) } },
      ctx,
    );
  }

  async remove(ctx: Context, key: string): Promise<void> {
    await callUnary(this.#c.remove.bind(this.#c), { snapshotter: this.#name, key }, ctx);
  }

  async walk(ctx: Context, fn: WalkFunc, filters: readonly string[] = []): Promise<void> {
    parseFilters([...filters]);
    const stream = callStream(this.#c.list.bind(this.#c), { snapshotter: this.#name, filters: [...filters] }, ctx);
    // Leaving the loop early (fn threw) ends the generator, which cancels the call.
    for await (const batch of stream) {
      for (const info of batch.info) await fn(infoFromProto(info));
    }
  }

  async cleanup(ctx: Context): Promise<void> {
    await callUnary(this.#c.cleanup.bind(this.#c), { snapshotter: this.#name }, ctx);
  }

  /** Closes the gRPC client (and its channel, unless shared). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsChannel) this.#c.close();
  }
}
