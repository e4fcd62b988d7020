/**
 * The native snapshotter (containerd's `snapshots/native`): every active snapshot is a full copy of its
 * parent, so it works on any filesystem, without overlayfs.
 *
 * On-disk layout under the root (`<daemon root>/io.containerd.snapshotter.v1.native`):
 *
 * ```
 * metadata.level          the metadata database (see storage/snapshots.ts for its keys)
 * snapshots/              0700
 *   <id>/                 the snapshot's filesystem itself (0755 unless copied from a parent); a view with
 *                         a parent has no directory (it mounts the parent's read-only)
 *   new-<random>/         a snapshot directory being built (renamed to <id> once complete)
 *   rm-<id>/              a snapshot directory being deleted
 * ```
 */
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { background, parseFilters, type Context } from "@containerts/namespaces";
import type {
  Mount,
  SnapshotInfo,
  SnapshotInfoUpdate,
  SnapshotOptions,
  Snapshotter,
  Usage,
  WalkFunc,
} from "../snapshotter.js";
import { copyDir } from "../fs/copy.js";
import { diskUsage } from "../fs/disk-usage.js";
import { SnapshotDirectories } from "../storage/dirs.js";
import { MetaStore, throwIfCanceled, type SnapshotDatabase } from "../storage/metastore.js";
import {
  checkCommit,
  commitActive,
  createSnapshot,
  getInfo,
  getSnapshot,
  idMap,
  removeSnapshot,
  updateInfo,
  walkInfo,
  type StoredSnapshot,
} from "../storage/snapshots.js";

/** Options of {@link NativeSnapshotter.open}. */
export interface NativeSnapshotterOptions {
  /** The snapshotter root, conventionally `<daemon root>/io.containerd.snapshotter.v1.native`. */
  readonly root: string;
  /**
   * Opens the metadata database at `location` (`<root>/metadata.level`), for example
   * `(location) => new Level(location)`. The snapshotter opens it if needed and closes it on close.
   */
  readonly openDatabase: (location: string) => SnapshotDatabase;
}

/**
 * The native snapshotter: copy-based snapshots mounted with bind mounts. Mount shapes follow containerd
 * 1.6 exactly (api-compat §4.2). Create one with {@link NativeSnapshotter.open}. Error contract:
 * {@link Snapshotter}.
 */
export class NativeSnapshotter implements Snapshotter {
  readonly #root: string;
  readonly #ms: MetaStore;
  readonly #dirs: SnapshotDirectories;

  private constructor(root: string, ms: MetaStore, dirs: SnapshotDirectories) {
    this.#root = root;
    this.#ms = ms;
    this.#dirs = dirs;
  }

  /**
   * Opens the snapshotter at `options.root`: creates the root (0700) and `snapshots/` (0700), opens the
   * metadata database and removes directories left behind by a crash (`new-*`, `rm-*`, and directories
   * no record refers to).
   */
  static async open(options: NativeSnapshotterOptions): Promise<NativeSnapshotter> {
    await mkdir(options.root, { recursive: true, mode: 0o700 });
    const dirs = new SnapshotDirectories(join(options.root, "snapshots"));
    await dirs.init();
    const ms = await MetaStore.open(options.openDatabase(join(options.root, "metadata.level")));
    const snapshotter = new NativeSnapshotter(options.root, ms, dirs);
    try {
      const stale = await ms.view(background(), async (tx) => dirs.unreferenced(await idMap(tx)));
      await dirs.discard(stale);
    } catch (err) {
      await ms.close();
      throw err;
    }
    return snapshotter;
  }

  /** The snapshotter root. */
  get root(): string {
    return this.#root;
  }

  async stat(ctx: Context, key: string): Promise<SnapshotInfo> {
    return (await this.#ms.view(ctx, (tx) => getInfo(tx, key))).info;
  }

  async update(ctx: Context, info: SnapshotInfoUpdate, fieldpaths?: readonly string[]): Promise<SnapshotInfo> {
    return this.#ms.update(ctx, (tx) => updateInfo(tx, info, fieldpaths));
  }

  async usage(ctx: Context, key: string): Promise<Usage> {
    const { id, info, usage } = await this.#ms.view(ctx, (tx) => getInfo(tx, key));
    if (info.kind === "active") return diskUsage(ctx, this.#dirs.path(id));
    return usage;
  }

  async mounts(ctx: Context, key: string): Promise<Mount[]> {
    const s = await this.#ms.view(ctx, (tx) => getSnapshot(tx, key));
    return this.#mounts(s);
  }

  prepare(ctx: Context, key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]> {
    return this.#createSnapshot(ctx, "active", key, parent, options);
  }

  view(ctx: Context, key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]> {
    return this.#createSnapshot(ctx, "view", key, parent, options);
  }

  async commit(ctx: Context, name: string, key: string, options?: SnapshotOptions): Promise<void> {
    await this.#ms.update(ctx, async (tx) => {
      const id = await checkCommit(tx, key, name);
      const usage = await diskUsage(ctx, this.#dirs.path(id));
      await commitActive(tx, key, name, usage, options?.labels);
    });
  }

  async remove(ctx: Context, key: string): Promise<void> {
    let retired: string | undefined;
    let id: string | undefined;
    try {
      await this.#ms.update(ctx, async (tx) => {
        ({ id } = await removeSnapshot(tx, key));
        // Renamed inside the transaction: if the record cannot be deleted, the rename is undone below.
        retired = await this.#dirs.retire(id);
      });
    } catch (err) {
      if (retired !== undefined && id !== undefined) {
        await rename(retired, this.#dirs.path(id)).catch(() => undefined);
      }
      throw err;
    }
    if (retired !== undefined) await this.#dirs.discard([retired]);
  }

  async walk(ctx: Context, fn: WalkFunc, filters: readonly string[] = []): Promise<void> {
    const filter = parseFilters([...filters]);
    await this.#ms.view(ctx, (tx) =>
      walkInfo(tx, filter, async (_id, info) => {
        throwIfCanceled(ctx);
        await fn(info);
      }),
    );
  }

  async cleanup(ctx: Context): Promise<void> {
    const stale = await this.#ms.update(ctx, async (tx) => {
      const paths = await this.#dirs.unreferenced(await idMap(tx));
      for (const p of paths) this.#dirs.claim(p);
      return paths;
    });
    await this.#dirs.discard(stale);
  }

  async close(): Promise<void> {
    await this.#ms.close();
  }

  async #createSnapshot(
    ctx: Context,
    kind: "active" | "view",
    key: string,
    parent: string | undefined,
    options: SnapshotOptions | undefined,
  ): Promise<Mount[]> {
    const ownDirectory = kind === "active" || parent === undefined || parent === "";
    let td: string | undefined;
    let path: string | undefined;
    try {
      const s = await this.#ms.update(ctx, async (tx) => {
        // The record first: its checks (reads only) fail before anything touches the disk.
        const created = await createSnapshot(tx, kind, key, parent, options?.labels);
        if (ownDirectory) {
          // Built under the write lock so that cleanup never sees it half-made.
          td = await this.#dirs.makeTemp(0o755);
          const nearest = created.parentIds[0];
          if (nearest !== undefined) await copyDir(ctx, this.#dirs.path(nearest), td);
          path = this.#dirs.path(created.id);
          await rename(td, path);
          td = undefined;
        }
        return created;
      });
      path = undefined;
      return this.#mounts(s);
    } catch (err) {
      if (td !== undefined) await rm(td, { recursive: true, force: true }).catch(() => undefined);
      if (path !== undefined) await rm(path, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
  }

  #mounts(s: StoredSnapshot): Mount[] {
    const nearest = s.parentIds[0];
    const source =
      s.kind === "active" || nearest === undefined ? this.#dirs.path(s.id) : this.#dirs.path(nearest);
    return [{ type: "bind", source, options: ["rbind", s.kind === "view" ? "ro" : "rw"] }];
  }
}
