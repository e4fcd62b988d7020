/**
 * The overlayfs snapshotter (containerd's `snapshots/overlay`).
 *
 * On-disk layout under the root (`<daemon root>/io.containerd.snapshotter.v1.overlayfs`):
 *
 * ```
 * metadata.level          the metadata database (see storage/snapshots.ts for its keys)
 * snapshots/              0700
 *   <id>/                 0700, one per snapshot; ids are decimal, from 1
 *     fs/                 0755, owned like the parent's fs/: the upper directory (the layer's changes)
 *     work/               0711, overlay's work directory (active snapshots; kept after commit)
 *   new-<random>/         a snapshot directory being built (renamed to <id> once its record is written)
 *   rm-<id>/              a snapshot directory being deleted
 * ```
 */
import { existsSync } from "node:fs";
import { lchown, mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { FailedPreconditionError } from "@containerts/errdefs";
import { background, parseFilters, type Context } from "@containerts/namespaces";
import { mountAll, unmountAll } from "@containerts/sys";
import {
  SnapshotLabels,
  type Mount,
  type SnapshotInfo,
  type SnapshotInfoUpdate,
  type SnapshotOptions,
  type Snapshotter,
  type Usage,
  type WalkFunc,
} from "../snapshotter.js";
import { diskUsage } from "../fs/disk-usage.js";
import { settleAll } from "../fs/settle.js";
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

/** Options of {@link OverlaySnapshotter.open}. */
export interface OverlaySnapshotterOptions {
  /** The snapshotter root, conventionally `<daemon root>/io.containerd.snapshotter.v1.overlayfs`. */
  readonly root: string;
  /**
   * Opens the metadata database at `location` (`<root>/metadata.level`), for example
   * `(location) => new Level(location)`. The snapshotter opens it if needed and closes it on close.
   */
  readonly openDatabase: (location: string) => SnapshotDatabase;
  /**
   * Adds the label `containerd.io/snapshot/overlay.upperdir=<root>/snapshots/<id>/fs` to stat, update
   * and walk results (containerd's `upperdir_label`). Default false.
   */
  readonly upperdirLabel?: boolean;
  /**
   * When true, remove only drops the record and leaves the directory to {@link OverlaySnapshotter.cleanup}
   * (containerd registers its overlayfs plugin this way). Default false: remove deletes the directory.
   */
  readonly asyncRemove?: boolean;
}

interface ResolvedOverlayOptions {
  readonly root: string;
  readonly openDatabase: (location: string) => SnapshotDatabase;
  readonly upperdirLabel: boolean;
  readonly asyncRemove: boolean;
}

function resolveOverlayOptions(options: OverlaySnapshotterOptions): ResolvedOverlayOptions {
  return {
    root: options.root,
    openDatabase: options.openDatabase,
    upperdirLabel: options.upperdirLabel ?? false,
    asyncRemove: options.asyncRemove ?? false,
  };
}

/** The file whose presence tells that the kernel's overlayfs knows the `index` option. */
const OVERLAY_INDEX_PARAMETER = "/sys/module/overlay/parameters/index";

/**
 * Checks that overlayfs works on the filesystem holding `root`: mounts a two-lower overlay with an upper
 * and work directory in a scratch directory, then unmounts it (containerd's
 * `overlayutils.SupportsMultipleLowerDir`). Fails with FailedPrecondition, for example when `root` is
 * itself on overlayfs or the kernel has no overlay support.
 */
export async function checkOverlaySupport(root: string): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const td = await mkdtemp(join(root, "overlay-check-"));
  const merged = join(td, "merged");
  try {
    for (const d of ["lower1", "lower2", "upper", "work", "merged"]) await mkdir(join(td, d), { mode: 0o755 });
    try {
      mountAll(
        [
          {
            type: "overlay",
            source: "overlay",
            options: [
              `lowerdir=${join(td, "lower2")}:${join(td, "lower1")}`,
              `upperdir=${join(td, "upper")}`,
              `workdir=${join(td, "work")}`,
            ],
          },
        ],
        merged,
      );
    } catch (err) {
      throw new FailedPreconditionError(
        `overlayfs is not supported on ${root} (a test mount failed: ${(err as Error).message}); ` +
          "the root must be on a filesystem overlayfs accepts as upper layer (not overlayfs itself) with d_type support",
        { cause: err },
      );
    }
  } finally {
    unmountAll(merged);
    await rm(td, { recursive: true, force: true });
  }
}

/**
 * The overlayfs snapshotter: each snapshot is an upper directory; active snapshots and multi-layer views
 * are overlay mounts of their parents' directories. Mount shapes follow containerd 1.6 exactly
 * (api-compat §4.2). Create one with {@link OverlaySnapshotter.open}. Error contract: {@link Snapshotter}.
 */
export class OverlaySnapshotter implements Snapshotter {
  readonly #root: string;
  readonly #ms: MetaStore;
  readonly #dirs: SnapshotDirectories;
  readonly #upperdirLabel: boolean;
  readonly #asyncRemove: boolean;
  readonly #indexOff: boolean;

  private constructor(options: ResolvedOverlayOptions, ms: MetaStore, dirs: SnapshotDirectories, indexOff: boolean) {
    this.#root = options.root;
    this.#ms = ms;
    this.#dirs = dirs;
    this.#upperdirLabel = options.upperdirLabel;
    this.#asyncRemove = options.asyncRemove;
    this.#indexOff = indexOff;
  }

  /**
   * Opens the snapshotter at `options.root`: creates the root (0700) and `snapshots/` (0700), checks that
   * overlayfs works there ({@link checkOverlaySupport}: FailedPrecondition otherwise), opens the
   * metadata database and removes directories left behind by a crash (`new-*`, `rm-*`, and directories
   * no record refers to).
   */
  static async open(options: OverlaySnapshotterOptions): Promise<OverlaySnapshotter> {
    const resolved = resolveOverlayOptions(options);
    await mkdir(resolved.root, { recursive: true, mode: 0o700 });
    await checkOverlaySupport(resolved.root);
    const dirs = new SnapshotDirectories(join(resolved.root, "snapshots"));
    await dirs.init();
    const ms = await MetaStore.open(resolved.openDatabase(join(resolved.root, "metadata.level")));
    const snapshotter = new OverlaySnapshotter(resolved, ms, dirs, existsSync(OVERLAY_INDEX_PARAMETER));
    try {
      await snapshotter.#sweep();
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
    return this.#ms.view(ctx, async (tx) => {
      const { id, info } = await getInfo(tx, key);
      return this.#withUpperdir(id, info);
    });
  }

  async update(ctx: Context, info: SnapshotInfoUpdate, fieldpaths?: readonly string[]): Promise<SnapshotInfo> {
    return this.#ms.update(ctx, async (tx) => {
      const updated = await updateInfo(tx, info, fieldpaths);
      if (!this.#upperdirLabel) return updated;
      const { id } = await getInfo(tx, updated.name);
      return this.#withUpperdir(id, updated);
    });
  }

  async usage(ctx: Context, key: string): Promise<Usage> {
    const { id, info, usage } = await this.#ms.view(ctx, (tx) => getInfo(tx, key));
    if (info.kind === "active") return diskUsage(ctx, this.#upperPath(id));
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
      const usage = await diskUsage(ctx, this.#upperPath(id));
      await commitActive(tx, key, name, usage, options?.labels);
    });
  }

  async remove(ctx: Context, key: string): Promise<void> {
    const { id } = await this.#ms.update(ctx, (tx) => removeSnapshot(tx, key));
    if (this.#asyncRemove) return;
    // The record is gone and ids are never handed out twice, so the directory is ours to delete.
    let retired: string | undefined;
    try {
      retired = await this.#dirs.retire(id);
    } catch {
      return; // Left for cleanup.
    }
    if (retired !== undefined) await this.#dirs.discard([retired]);
  }

  async walk(ctx: Context, fn: WalkFunc, filters: readonly string[] = []): Promise<void> {
    const filter = parseFilters([...filters]);
    await this.#ms.view(ctx, (tx) =>
      walkInfo(tx, filter, async (id, info) => {
        throwIfCanceled(ctx);
        await fn(this.#withUpperdir(id, info));
      }),
    );
  }

  async cleanup(ctx: Context): Promise<void> {
    // Listing under the write lock: no snapshot directory is being created meanwhile.
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

  async #sweep(): Promise<void> {
    const stale = await this.#ms.view(background(), async (tx) =>
      this.#dirs.unreferenced(await idMap(tx)),
    );
    await this.#dirs.discard(stale);
  }

  async #createSnapshot(
    ctx: Context,
    kind: "active" | "view",
    key: string,
    parent: string | undefined,
    options: SnapshotOptions | undefined,
  ): Promise<Mount[]> {
    let td: string | undefined;
    let path: string | undefined;
    try {
      const s = await this.#ms.update(ctx, async (tx) => {
        // The record first: its checks (reads only) fail before anything touches the disk, and it names
        // the parent whose owner the new upper directory takes.
        const created = await createSnapshot(tx, kind, key, parent, options?.labels);
        const nearest = created.parentIds[0];
        // Built under the write lock so that cleanup never sees it half-made. Each step is a thread-pool
        // round trip: the independent ones run concurrently, and modes the umask keeps need no chmod.
        const [, owner] = await settleAll([
          this.#dirs.makeTemp().then((dir) => {
            td = dir;
          }),
          nearest === undefined ? undefined : stat(this.#upperPath(nearest)),
        ]);
        const dir = td as string;
        const fs = join(dir, "fs");
        const work = join(dir, "work");
        // The upper directory takes the owner of the parent's (usually the owner it gets anyway: then
        // there is no lchown to wait for).
        const chown = owner !== undefined && !this.#dirs.ownedBy(owner.uid, owner.gid);
        await settleAll([
          this.#dirs.makeDir(fs, 0o755).then(() => (chown ? lchown(fs, owner.uid, owner.gid) : undefined)),
          kind === "active" ? this.#dirs.makeDir(work, 0o711) : undefined,
        ]);
        path = this.#dirs.path(created.id);
        await rename(dir, path);
        td = undefined;
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
    if (s.parentIds.length === 0) {
      // A single layer: overlay needs at least one lower, so it is a bind mount of the upper directory.
      return [{ type: "bind", source: this.#upperPath(s.id), options: [s.kind === "view" ? "ro" : "rw", "rbind"] }];
    }
    const options: string[] = [];
    if (this.#indexOff) options.push("index=off");
    if (s.kind === "active") {
      options.push(`workdir=${this.#workPath(s.id)}`, `upperdir=${this.#upperPath(s.id)}`);
    } else if (s.parentIds.length === 1) {
      return [{ type: "bind", source: this.#upperPath(s.parentIds[0] as string), options: ["ro", "rbind"] }];
    }
    options.push(`lowerdir=${s.parentIds.map((id) => this.#upperPath(id)).join(":")}`);
    return [{ type: "overlay", source: "overlay", options }];
  }

  #withUpperdir(id: string, info: SnapshotInfo): SnapshotInfo {
    if (!this.#upperdirLabel) return info;
    return { ...info, labels: { ...info.labels, [SnapshotLabels.overlayUpperdir]: this.#upperPath(id) } };
  }

  #upperPath(id: string): string {
    return join(this.#dirs.dir, id, "fs");
  }

  #workPath(id: string): string {
    return join(this.#dirs.dir, id, "work");
  }
}
