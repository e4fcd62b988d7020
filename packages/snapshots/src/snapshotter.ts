/**
 * The snapshotter model (containerd's `snapshots` package): kinds, snapshot info, usage, mounts and the
 * `Snapshotter` interface every backend implements. Types and pure helpers only; no I/O.
 */
import type { Context } from "@containerts/namespaces";

/**
 * The kind of a snapshot.
 *
 * - `active`: created by {@link Snapshotter.prepare}; writable; can be committed.
 * - `view`: created by {@link Snapshotter.view}; read-only; cannot be committed.
 * - `committed`: created by {@link Snapshotter.commit}; immutable; the only kind that can be a parent.
 */
export type Kind = "active" | "view" | "committed";

/** The numeric values of the API's `containerd.services.snapshots.v1.Kind` enum. */
export const KindEnum = { UNKNOWN: 0, VIEW: 1, ACTIVE: 2, COMMITTED: 3 } as const;

/** One value of {@link KindEnum}. */
export type KindEnumValue = (typeof KindEnum)[keyof typeof KindEnum];

/** The API enum value of a kind (`view` → 1, `active` → 2, `committed` → 3). */
export function kindToEnum(kind: Kind): KindEnumValue {
  switch (kind) {
    case "view":
      return KindEnum.VIEW;
    case "active":
      return KindEnum.ACTIVE;
    case "committed":
      return KindEnum.COMMITTED;
  }
}

/** The kind for an API enum value, or `undefined` for UNKNOWN (0) and values the API does not define. */
export function kindFromEnum(value: number): Kind | undefined {
  switch (value) {
    case KindEnum.VIEW:
      return "view";
    case KindEnum.ACTIVE:
      return "active";
    case KindEnum.COMMITTED:
      return "committed";
    default:
      return undefined;
  }
}

/** Parses a kind name case-insensitively, as containerd's `ParseKind`; `undefined` when it names no kind. */
export function parseKind(name: string): Kind | undefined {
  const lower = name.toLowerCase();
  return lower === "active" || lower === "view" || lower === "committed" ? lower : undefined;
}

/** The display name of a kind as containerd's `Kind.String()` prints it (`Active`, `View`, `Committed`). */
export function kindDisplayName(kind: Kind): "Active" | "View" | "Committed" {
  return kind === "active" ? "Active" : kind === "view" ? "View" : "Committed";
}

/** What a snapshotter knows about one snapshot. */
export interface SnapshotInfo {
  /** Active, view or committed. */
  readonly kind: Kind;
  /** The key (active, view) or name (committed) of the snapshot. */
  readonly name: string;
  /** The name of the committed parent; absent for a snapshot without parent. */
  readonly parent?: string;
  /** Labels; never contains empty values. */
  readonly labels: Readonly<Record<string, string>>;
  /** When the snapshot was created (for a committed snapshot: when it was committed). */
  readonly createdAt: Date;
  /** When the snapshot was last changed. */
  readonly updatedAt: Date;
}

/**
 * The argument of {@link Snapshotter.update}: the snapshot's name plus the fields to write. A full
 * {@link SnapshotInfo} (for example the result of `stat`) is accepted; only `labels` are ever written.
 */
export type SnapshotInfoUpdate = Pick<SnapshotInfo, "name"> & Partial<Omit<SnapshotInfo, "name">>;

/** Resources used by a snapshot. */
export interface Usage {
  /** Bytes used on disk (allocated blocks × 512, each inode counted once). */
  readonly size: number;
  /** Number of inodes in use. */
  readonly inodes: number;
}

/**
 * A mount, in containerd's `mount.Mount` shape (structurally the same as `@containerts/sys`'s `Mount`).
 * Snapshotters return absolute host paths, so a client on the same host can mount them itself.
 */
export interface Mount {
  /** Filesystem type (`bind`, `overlay`, …). */
  readonly type: string;
  /** Mount source (a path for bind mounts, `overlay` for overlay mounts). */
  readonly source: string;
  /** Target below the mount root; snapshotters leave it unset. */
  readonly target?: string;
  /** Mount options in order (`rw`, `rbind`, `lowerdir=…`, …). */
  readonly options: readonly string[];
}

/** Options of {@link Snapshotter.prepare}, {@link Snapshotter.view} and {@link Snapshotter.commit}. */
export interface SnapshotOptions {
  /** Labels of the new snapshot; keys with an empty value are dropped. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The callback of {@link Snapshotter.walk}; an error it throws stops the walk and is rethrown. */
export type WalkFunc = (info: SnapshotInfo) => void | Promise<void>;

/**
 * A snapshotter: a store of layered filesystems (containerd's `snapshots.Snapshotter`).
 *
 * Lifecycle. Every snapshot has a key. {@link prepare} creates an *active* snapshot on top of an
 * optional *committed* parent and returns the mounts that expose it writable; the caller mounts them,
 * writes, unmounts and calls {@link commit}, which turns the active snapshot into a *committed* snapshot
 * with a new name (the active key disappears). {@link view} creates a read-only *view* of a committed
 * parent. Actives, views and committed snapshots share one key space. Only committed snapshots can be
 * parents; a snapshot with children cannot be removed. A snapshotter returns mounts and never mounts
 * anything itself that it leaves behind.
 *
 * Errors (kinds from `@containerts/errdefs`, wording as containerd's):
 * - a key or name that does not exist: NotFound `snapshot <key> does not exist`;
 * - creating a key or committing to a name that exists: AlreadyExists `snapshot "<key>"`;
 * - a parent that does not exist: NotFound `parent snapshot <parent> does not exist`;
 * - a parent that is not committed: InvalidArgument `parent "<parent>" is not committed snapshot`;
 * - committing a snapshot that is not active: FailedPrecondition `snapshot "<key>" is not active`;
 * - removing a snapshot that has children: FailedPrecondition `cannot remove snapshot with child`;
 * - mounts of a committed snapshot: FailedPrecondition `requested snapshot <key> not active or view`;
 * - an empty key (prepare, view) or name (commit, update): InvalidArgument;
 * - an aborted `ctx.signal`: Canceled.
 */
export interface Snapshotter {
  /**
   * Returns the info of the snapshot with this key or name.
   * @throws NotFound `snapshot <key> does not exist`
   */
  stat(ctx: Context, key: string): Promise<SnapshotInfo>;

  /**
   * Updates the mutable fields (labels) of the snapshot `info.name` and returns the stored info, with
   * `updatedAt` set to now. Without `fieldpaths` the labels are replaced by `info.labels`; with them, each
   * path is `labels` (replace all) or `labels.<key>` (set that key from `info.labels`, or delete it when
   * absent or empty). Other paths fail.
   * @throws InvalidArgument for an empty name or a path other than `labels`/`labels.<key>`
   * @throws NotFound `snapshot <name> does not exist`
   */
  update(ctx: Context, info: SnapshotInfoUpdate, fieldpaths?: readonly string[]): Promise<SnapshotInfo>;

  /**
   * Returns the resources a snapshot uses on its own (not counting its parents): measured now for an
   * active snapshot, recorded at commit for a committed one, zero for a view.
   * @throws NotFound `snapshot <key> does not exist`
   */
  usage(ctx: Context, key: string): Promise<Usage>;

  /**
   * Returns the mounts of an active snapshot or view: the same mounts that prepare or view returned.
   * @throws NotFound `snapshot <key> does not exist`
   * @throws FailedPrecondition `requested snapshot <key> not active or view` for a committed snapshot
   */
  mounts(ctx: Context, key: string): Promise<Mount[]>;

  /**
   * Creates an active snapshot `key` on top of the committed snapshot `parent` (none when absent or empty)
   * and returns the mounts that expose it read-write.
   * @throws AlreadyExists `snapshot "<key>"` when the key is taken
   * @throws NotFound `parent snapshot <parent> does not exist`
   * @throws InvalidArgument `parent "<parent>" is not committed snapshot`, or an empty key
   */
  prepare(ctx: Context, key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]>;

  /**
   * Creates a read-only view `key` of the committed snapshot `parent` (an empty directory when absent or
   * empty) and returns its read-only mounts. Views cannot be committed.
   * @throws AlreadyExists `snapshot "<key>"` when the key is taken
   * @throws NotFound `parent snapshot <parent> does not exist`
   * @throws InvalidArgument `parent "<parent>" is not committed snapshot`, or an empty key
   */
  view(ctx: Context, key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]>;

  /**
   * Commits the active snapshot `key` as the committed snapshot `name` with the same parent. The new
   * snapshot's labels are only `options.labels` (the active's labels are not inherited); its usage is
   * recorded; `key` stops existing. The caller must have unmounted the active snapshot.
   * @throws NotFound `snapshot <key> does not exist`
   * @throws FailedPrecondition `snapshot "<key>" is not active` for a view or committed snapshot
   * @throws AlreadyExists `snapshot "<name>"` when the name is taken
   * @throws InvalidArgument for an empty name
   */
  commit(ctx: Context, name: string, key: string, options?: SnapshotOptions): Promise<void>;

  /**
   * Removes the snapshot `key` (any kind). The key is free for reuse as soon as this resolves; disk space
   * may be reclaimed later, by {@link cleanup}.
   * @throws NotFound `snapshot <key> does not exist`
   * @throws FailedPrecondition `cannot remove snapshot with child`
   */
  remove(ctx: Context, key: string): Promise<void>;

  /**
   * Calls `fn` for every snapshot matching any of `filters` (containerd's filter syntax; none = all), in
   * lexical key order. Fields: `kind` (`active`/`view`/`committed`), `name`, `parent` (both always present,
   * possibly empty) and `labels.<key>`.
   * @throws InvalidArgument for a filter that does not parse
   */
  walk(ctx: Context, fn: WalkFunc, filters?: readonly string[]): Promise<void>;

  /**
   * Reclaims disk space no snapshot refers to any more (removed snapshots, abandoned directories).
   * @throws NotImplemented when the snapshotter has nothing it can clean up this way
   */
  cleanup(ctx: Context): Promise<void>;

  /** Releases the snapshotter's resources. Idempotent; no other method may be called afterwards. */
  close(): Promise<void>;
}

/**
 * A consumer-declared source of snapshotters by name (for example `overlayfs`, `native`), which a
 * metadata database or plugin set satisfies structurally. `undefined` means "not loaded".
 */
export interface SnapshotterSource {
  /** The snapshotter registered under `name`, or `undefined`. */
  snapshotter(name: string): Snapshotter | undefined;
}

/** Label keys with protocol meaning for snapshots (api-compat §12.2). */
export const SnapshotLabels = {
  /** Target committed name of a prepare (remote-snapshotter dedupe): AlreadyExists when it exists. */
  ref: "containerd.io/snapshot.ref",
  /** Prefix of the labels the metadata layer passes down to backend snapshotters. */
  inheritedPrefix: "containerd.io/snapshot/",
  /** Marks a snapshot as a garbage-collection root (value conventionally an RFC 3339 time). */
  gcRoot: "containerd.io/gc.root",
  /** Added to stat/walk results by the overlay snapshotter with `upperdirLabel`: the upper directory. */
  overlayUpperdir: "containerd.io/snapshot/overlay.upperdir",
} as const;

/**
 * The labels a backend snapshotter receives: those with prefix `containerd.io/snapshot/` and the label
 * `containerd.io/snapshot.ref` (containerd's `FilterInheritedLabels`).
 */
export function filterInheritedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (k === SnapshotLabels.ref || k.startsWith(SnapshotLabels.inheritedPrefix)) out[k] = v;
  }
  return out;
}
