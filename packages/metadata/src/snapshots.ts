/**
 * Namespaced snapshots (containerd's `metadata/snapshot.go`): a {@link MetadataSnapshotter} puts one
 * backend snapshotter (shared by every namespace) behind a per-(namespace, snapshotter) key space.
 *
 * Every user key maps to a backend key `<ns>/<seq>/<key>` (the sequence never repeats within a
 * namespace, so a removed snapshot's backend key is never handed out again while its data may still be
 * on disk). The record of a snapshot is an object of kind `snapshots/<snapshotter>` holding its parent
 * (a user key), all its labels, its times and its backend key; its garbage-collection edges are the
 * parent, the `containerd.io/gc.ref.*` labels and `containerd.io/gc.root`. The backend only sees the
 * labels `containerd.io/snapshot/*` and `containerd.io/snapshot.ref`, and supplies the kind.
 *
 * Removing a snapshot only drops its record (and marks the database dirty): the backend snapshot goes
 * at the next garbage collection, through the collector this snapshotter registers with the database,
 * which removes every backend key no record refers to (children before parents) and then runs the
 * backend's `cleanup`.
 *
 * Concurrency: operations on the same key (and, for a commit, its target name) are serialized in-process;
 * different keys proceed in parallel. Prepare, view and commit hold the backend lock shared from their
 * first check to the write of their record, so a collection never removes a backend snapshot that is
 * about to be recorded. Neither the database's write lock nor the synced write is held while the backend
 * works (checks are read from a snapshot; the record is written in one update afterwards and checked
 * again there).
 */
import {
  AlreadyExistsError,
  CanceledError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnknownError,
  isAlreadyExists,
  isFailedPrecondition,
  isNotFound,
  isNotImplemented,
  normalize,
  withContext,
} from "@containerts/errdefs";
import {
  type Context,
  adaptFields,
  applyLabelPaths,
  background,
  cleanLabels,
  namespaceRequired,
  parseFilters,
  validateLabels,
} from "@containerts/namespaces";
import {
  SnapshotLabels,
  filterInheritedLabels,
  type Mount,
  type SnapshotInfo,
  type SnapshotInfoUpdate,
  type SnapshotOptions,
  type Snapshotter,
  type Usage,
  type WalkFunc,
} from "@containerts/snapshots";

import type { DB, SnapshotterCollector } from "./db.js";
import { addLeaseResource, removeLeaseResource } from "./leases.js";
import { Mutex, type Release } from "./locks.js";
import { type ObjectKind, defineObjectKind, isGcRoot, labelRefs, snapshotsKindName } from "./objects.js";
import { keys, suffix, under } from "./schema.js";
import type { ReadTx, WriteTx } from "./tx.js";

/** The stored record of one snapshot in one namespace. */
export interface SnapshotRecord {
  /** The user key of the committed parent; absent without parent. */
  readonly parent?: string;
  /** All labels (never empty values). */
  readonly labels: Readonly<Record<string, string>>;
  /** ISO-8601 times. */
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The key of the snapshot in the backend snapshotter, `<ns>/<seq>/<key>`. */
  readonly backendKey: string;
}

/** The object kind holding the snapshot records of `snapshotter`, with their garbage-collection edges. */
export function snapshotObjectKind(snapshotter: string): ObjectKind<SnapshotRecord> {
  return defineObjectKind<SnapshotRecord>({
    name: snapshotsKindName(snapshotter),
    gcRefs: (r) => {
      const refs = labelRefs(r.labels);
      return {
        root: isGcRoot(r.labels),
        content: refs.content,
        snapshots: refs.snapshots,
        parents: r.parent === undefined ? [] : [{ snapshotter, key: r.parent }],
        backendKey: r.backendKey,
      };
    },
  });
}

/** The backend key of user key `key`: containerd's `createKey`. */
function backendKeyOf(ns: string, seq: number, key: string): string {
  return `${ns}/${seq}/${key}`;
}

/** How often a backend key that turns out to be taken (a crash leftover) is retried with a new sequence. */
const BACKEND_KEY_ATTEMPTS = 4;

/** Walk reads records in batches of this size, then stats them in the backend outside the read. */
const WALK_BATCH = 100;

function checkCanceled(ctx: Context): void {
  if (ctx.signal.aborted) throw normalize(ctx.signal.reason ?? new CanceledError("snapshot operation"));
}

function notExist(key: string): NotFoundError {
  return new NotFoundError(`snapshot ${key} does not exist`);
}

function checkLabels(labels: Readonly<Record<string, string>>): void {
  try {
    validateLabels(labels);
  } catch (err) {
    throw withContext(err, "info.Labels");
  }
}

/** The info containerd's `overlayInfo` makes of the backend's info and the record. */
function overlayInfo(backend: SnapshotInfo, key: string, r: SnapshotRecord): SnapshotInfo {
  return {
    kind: backend.kind,
    name: key,
    ...(r.parent !== undefined ? { parent: r.parent } : {}),
    labels: { ...backend.labels, ...r.labels },
    createdAt: new Date(r.createdAt),
    updatedAt: new Date(r.updatedAt),
  };
}

/** Per-key async locks: a holder of a set of keys excludes every other holder of any of them. */
class KeyLocks {
  readonly #locks = new Map<string, { mutex: Mutex; users: number }>();

  /** Acquires every key (in sorted order, so two holders never deadlock). */
  async acquire(names: readonly string[]): Promise<Release> {
    const sorted = [...new Set(names)].sort();
    const releases: Release[] = [];
    for (const name of sorted) {
      let entry = this.#locks.get(name);
      if (entry === undefined) {
        entry = { mutex: new Mutex(), users: 0 };
        this.#locks.set(name, entry);
      }
      entry.users++;
      const e = entry;
      const release = await e.mutex.acquire();
      releases.push(() => {
        release();
        if (--e.users === 0) this.#locks.delete(name);
      });
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const r of releases.reverse()) r();
    };
  }
}

/**
 * A namespaced snapshotter over a backend snapshotter, storing its records in the metadata database
 * (obtain one with `db.snapshotter(name, backend)`). Every method needs `ctx.namespace`
 * (FailedPrecondition `namespace is required` otherwise). Snapshots created or committed while
 * `ctx.leaseId` is set are added to that lease (NotFound `lease does not exist` when it is not there);
 * commit and remove take the old key out of it.
 *
 * Error contract: {@link Snapshotter}, with containerd's wording. Errors the backend raises keep the
 * backend key in their message, as in containerd: InvalidArgument `parent "<ns>/<n>/<p>" is not committed
 * snapshot`, FailedPrecondition `snapshot "<ns>/<n>/<k>" is not active`, FailedPrecondition
 * `requested snapshot <ns>/<n>/<k> not active or view`. Prepare and view with the label
 * `containerd.io/snapshot.ref=<t>` fail with AlreadyExists `target snapshot "<t>"` when `<t>` exists.
 * Labels are validated: InvalidArgument `info.Labels: label key and value greater than maximum size …`.
 */
export class MetadataSnapshotter implements Snapshotter {
  readonly #db: DB;
  readonly #name: string;
  readonly #backend: Snapshotter;
  readonly #kind: ObjectKind<SnapshotRecord>;
  readonly #locks = new KeyLocks();
  /** The last sequence handed out per namespace (seeded from the database on first use). */
  readonly #seq = new Map<string, number>();
  readonly #unregister: () => void;
  #closed: Promise<void> | undefined;

  /**
   * Use `db.snapshotter(name, backend)`. Registers the snapshotter's garbage collector with `db`.
   * @throws FailedPreconditionError when a collector for `name` is already registered.
   */
  constructor(db: DB, name: string, backend: Snapshotter) {
    this.#db = db;
    this.#name = name;
    this.#backend = backend;
    this.#kind = snapshotObjectKind(name);
    const collector: SnapshotterCollector = {
      listKeys: (signal) => this.#backendKeys(signal),
      remove: (keys, signal) => this.#removeBackendKeys(keys, signal),
    };
    this.#unregister = db.registerSnapshotterCollector(name, collector);
  }

  /** The snapshotter name (`overlayfs`, `native`, …). */
  get name(): string {
    return this.#name;
  }

  /** The backend snapshotter. */
  get backend(): Snapshotter {
    return this.#backend;
  }

  async stat(ctx: Context, key: string): Promise<SnapshotInfo> {
    const ns = namespaceRequired(ctx);
    checkCanceled(ctx);
    const r = await this.#db.read((tx) => this.#get(tx, ns, key));
    if (r === undefined) throw notExist(key);
    return overlayInfo(await this.#backend.stat(ctx, r.backendKey), key, r);
  }

  async update(ctx: Context, info: SnapshotInfoUpdate, fieldpaths: readonly string[] = []): Promise<SnapshotInfo> {
    const ns = namespaceRequired(ctx);
    checkCanceled(ctx);
    if (info.name === "") throw new InvalidArgumentError("snapshot name is required");
    const key = info.name;
    const release = await this.#locks.acquire([this.#lockName(ns, key)]);
    try {
      const r = await this.#db.update(async (tx) => {
        const current = await this.#get(tx, ns, key);
        if (current === undefined) throw notExist(key);
        const labels = applyLabelPaths(current.labels, info.labels ?? {}, fieldpaths, {
          object: `snapshot ${JSON.stringify(key)}`,
        });
        checkLabels(labels);
        const updated: SnapshotRecord = { ...current, labels, updatedAt: new Date().toISOString() };
        await tx.putRecord(this.#kind, ns, key, updated);
        return updated;
      });
      // As containerd, the backend's copy of the inherited labels follows the same field paths.
      const backendInfo = await this.#backend.update(
        ctx,
        { name: r.backendKey, labels: filterInheritedLabels(r.labels) },
        fieldpaths,
      );
      return overlayInfo(backendInfo, key, r);
    } finally {
      release();
    }
  }

  async usage(ctx: Context, key: string): Promise<Usage> {
    return this.#backend.usage(ctx, await this.#resolve(ctx, key));
  }

  async mounts(ctx: Context, key: string): Promise<Mount[]> {
    return this.#backend.mounts(ctx, await this.#resolve(ctx, key));
  }

  prepare(ctx: Context, key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]> {
    return this.#create(ctx, "active", key, parent ?? "", options);
  }

  view(ctx: Context, key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]> {
    return this.#create(ctx, "view", key, parent ?? "", options);
  }

  async commit(ctx: Context, name: string, key: string, options?: SnapshotOptions): Promise<void> {
    const ns = namespaceRequired(ctx);
    checkCanceled(ctx);
    if (name === "") throw new InvalidArgumentError("snapshot name must not be empty");
    const labels = cleanLabels(options?.labels);
    checkLabels(labels);
    const release = await this.#locks.acquire([this.#lockName(ns, name), this.#lockName(ns, key)]);
    const releaseBackend = await this.#backendLock().shared();
    try {
      const active = await this.#db.view(async (tx) => {
        if ((await this.#get(tx, ns, name)) !== undefined) throw new AlreadyExistsError(`snapshot ${JSON.stringify(name)}`);
        const r = await this.#get(tx, ns, key);
        if (r === undefined) throw notExist(key);
        await this.#checkLease(tx, ctx, ns);
        return r;
      });
      const inherited = { labels: filterInheritedLabels(labels) };
      let seq = 0;
      let nameKey = "";
      for (let attempt = 1; ; attempt++) {
        checkCanceled(ctx);
        seq = await this.#nextSequence(ns);
        nameKey = backendKeyOf(ns, seq, name);
        try {
          await this.#backend.commit(ctx, nameKey, active.backendKey, inherited);
          break;
        } catch (err) {
          // The backend checks the new name first: AlreadyExists here is a leftover backend key.
          if (!isAlreadyExists(err) || attempt >= BACKEND_KEY_ATTEMPTS) throw err;
        }
      }
      await this.#db.update(async (tx) => {
        const r = await this.#get(tx, ns, key);
        // Collected meanwhile: the committed backend snapshot has no record and goes at the next collection.
        if (r === undefined || r.backendKey !== active.backendKey) throw notExist(key);
        if ((await this.#get(tx, ns, name)) !== undefined) throw new AlreadyExistsError(`snapshot ${JSON.stringify(name)}`);
        await addLeaseResource(tx, ctx, ns, ["snapshots", this.#name, name]);
        const now = new Date().toISOString();
        const committed: SnapshotRecord = {
          ...(r.parent !== undefined ? { parent: r.parent } : {}),
          labels,
          createdAt: now,
          updatedAt: now,
          backendKey: nameKey,
        };
        tx.del(keys.object(ns, this.#kind.name, key));
        await tx.putRecord(this.#kind, ns, name, committed);
        if (r.parent !== undefined) {
          tx.del(keys.snapshotChild(ns, this.#name, r.parent, key));
          tx.put(keys.snapshotChild(ns, this.#name, r.parent, name), "");
        }
        await removeLeaseResource(tx, ctx, ns, ["snapshots", this.#name, key]);
        await this.#recordSequence(tx, ns, seq);
      });
    } finally {
      releaseBackend();
      release();
    }
  }

  async remove(ctx: Context, key: string): Promise<void> {
    const ns = namespaceRequired(ctx);
    checkCanceled(ctx);
    const release = await this.#locks.acquire([this.#lockName(ns, key)]);
    try {
      await this.#db.update(async (tx) => {
        const r = await this.#get(tx, ns, key);
        if (r === undefined) throw notExist(key);
        if (await this.#hasChildren(tx, ns, key)) throw new FailedPreconditionError("cannot remove snapshot with child");
        if (r.parent !== undefined) tx.del(keys.snapshotChild(ns, this.#name, r.parent, key));
        await tx.delRange(under(...keys.snapshotChildren(ns, this.#name, key)));
        // Marks the snapshotter dirty: the backend snapshot goes at the next collection.
        await tx.deleteRecord(this.#kind, ns, key);
        await removeLeaseResource(tx, ctx, ns, ["snapshots", this.#name, key]);
      });
    } finally {
      release();
    }
  }

  async walk(ctx: Context, fn: WalkFunc, filters: readonly string[] = []): Promise<void> {
    const ns = namespaceRequired(ctx);
    const filter = parseFilters([...filters]);
    const tuple = keys.objectKind(ns, this.#kind.name);
    let range = under(...tuple);
    for (;;) {
      checkCanceled(ctx);
      const batch = await this.#db.view(async (tx) => {
        const out: [string, SnapshotRecord][] = [];
        let last: string | undefined;
        let read = 0;
        for await (const [k, v] of tx.entries(range, { limit: WALK_BATCH })) {
          last = k;
          read++;
          const parts = suffix(k, tuple);
          if (parts.length !== 1) continue;
          out.push([parts[0]!, (JSON.parse(v) as { v: SnapshotRecord }).v]);
        }
        return { out, last, done: read < WALK_BATCH };
      });
      for (const [key, r] of batch.out) {
        checkCanceled(ctx);
        let backendInfo: SnapshotInfo;
        try {
          backendInfo = await this.#backend.stat(ctx, r.backendKey);
        } catch (err) {
          if (isNotFound(err)) continue;
          throw err;
        }
        const info = overlayInfo(backendInfo, key, r);
        const adaptor = adaptFields({ kind: info.kind, name: info.name, parent: info.parent ?? "" }, { labels: info.labels });
        if (filter.match(adaptor)) await fn(info);
      }
      if (batch.done || batch.last === undefined) break;
      // The next batch starts right after the last key read (no key lies between k and k + "\0").
      range = { gte: `${batch.last}\x00`, lt: range.lt };
    }
  }

  /**
   * Removes every backend snapshot no record of any namespace refers to (children before parents), then
   * runs the backend's `cleanup` (a backend without one is fine). The same work a garbage collection does
   * for this snapshotter, without collecting records.
   */
  async cleanup(ctx: Context): Promise<void> {
    checkCanceled(ctx);
    await this.#backendLock().runExclusive(async () => {
      const live = await this.#liveBackendKeys();
      const doomed = (await this.#backendKeys(ctx.signal)).filter((k) => !live.has(k));
      await this.#removeBackendKeys(doomed, ctx.signal);
    });
  }

  /** Unregisters the garbage collector and closes the backend. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#unregister();
      await this.#backend.close();
    })();
    return this.#closed;
  }

  // ---------------------------------------------------------------------------------------------

  async #create(
    ctx: Context,
    kind: "active" | "view",
    requestedKey: string,
    parent: string,
    options: SnapshotOptions | undefined,
  ): Promise<Mount[]> {
    const ns = namespaceRequired(ctx);
    checkCanceled(ctx);
    if (requestedKey === "") throw new InvalidArgumentError("snapshot key must not be empty");
    let labels = cleanLabels(options?.labels);
    checkLabels(labels);
    const target = labels[SnapshotLabels.ref] ?? "";
    const inherited = { labels: filterInheritedLabels(labels) };

    const release = await this.#locks.acquire([this.#lockName(ns, requestedKey)]);
    const releaseBackend = await this.#backendLock().shared();
    try {
      const bparent = await this.#db.view(async (tx) => {
        if (target !== "" && (await this.#get(tx, ns, target)) !== undefined) {
          throw new AlreadyExistsError(`target snapshot ${JSON.stringify(target)}`);
        }
        if ((await this.#get(tx, ns, requestedKey)) !== undefined) {
          throw new AlreadyExistsError(`snapshot ${JSON.stringify(requestedKey)}`);
        }
        let bp = "";
        if (parent !== "") {
          const p = await this.#get(tx, ns, parent);
          if (p === undefined) throw new NotFoundError(`parent snapshot ${parent} does not exist`);
          bp = p.backendKey;
        }
        await this.#checkLease(tx, ctx, ns);
        return bp;
      });

      let key = requestedKey;
      let backendParent = bparent;
      let mounts: Mount[] = [];
      let created: string | undefined;
      let seq = 0;
      let bkey = "";
      let createdAt = "";
      let updatedAt = "";
      // Set when the backend already holds the target of a `containerd.io/snapshot.ref` (remote
      // snapshotters): the target is recorded, then the call fails with AlreadyExists.
      let targetErr: Error | undefined;
      for (let attempt = 1; ; attempt++) {
        checkCanceled(ctx);
        seq = await this.#nextSequence(ns);
        bkey = backendKeyOf(ns, seq, key);
        try {
          mounts =
            kind === "active"
              ? await this.#backend.prepare(ctx, bkey, bparent === "" ? undefined : bparent, inherited)
              : await this.#backend.view(ctx, bkey, bparent === "" ? undefined : bparent, inherited);
          created = bkey;
          createdAt = updatedAt = new Date().toISOString();
          break;
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          if (target !== "") {
            const found = await this.#findBackendTarget(ctx, target, bparent);
            if (found === undefined) throw new NotFoundError(`target snapshot ${JSON.stringify(target)} in backend`);
            key = target;
            bkey = found.name;
            backendParent = found.parent ?? "";
            createdAt = found.createdAt.toISOString();
            updatedAt = found.updatedAt.toISOString();
            labels = { ...found.labels, ...labels };
            targetErr = new AlreadyExistsError(`target snapshot ${JSON.stringify(target)} from snapshotter`);
            break;
          }
          // Without a target the key was fresh: the backend holds a leftover of an earlier process.
          if (attempt >= BACKEND_KEY_ATTEMPTS) {
            throw new UnknownError(`unexpected error from snapshotter: ${normalize(err).message}`, { cause: err });
          }
        }
      }

      try {
        await this.#db.update(async (tx) => {
          await addLeaseResource(tx, ctx, ns, ["snapshots", this.#name, key]);
          if ((await this.#get(tx, ns, key)) !== undefined) {
            if (targetErr !== undefined) return; // keep the lease reference to the existing target
            throw new AlreadyExistsError(`snapshot ${JSON.stringify(key)}`);
          }
          if (parent !== "") {
            const p = await this.#get(tx, ns, parent);
            if (p === undefined) throw new NotFoundError(`parent snapshot ${parent} does not exist`);
            // A target found in the backend must sit on the parent the caller asked for.
            if (p.backendKey !== backendParent) {
              throw new InvalidArgumentError(`mismatched parent ${parent} from target ${target}`);
            }
            tx.put(keys.snapshotChild(ns, this.#name, parent, key), "");
          }
          const record: SnapshotRecord = {
            ...(parent !== "" ? { parent } : {}),
            labels,
            createdAt,
            updatedAt,
            backendKey: bkey,
          };
          await tx.putRecord(this.#kind, ns, key, record);
          if (created !== undefined) await this.#recordSequence(tx, ns, seq);
        });
      } catch (err) {
        if (created !== undefined) await this.#backend.remove(background(), created).catch(() => undefined);
        throw err;
      }
      if (targetErr !== undefined) throw targetErr;
      return mounts;
    } finally {
      releaseBackend();
      release();
    }
  }

  /** The committed backend snapshot labelled with `target` on `bparent` (containerd's remote-snapshotter path). */
  async #findBackendTarget(ctx: Context, target: string, bparent: string): Promise<SnapshotInfo | undefined> {
    let found: SnapshotInfo | undefined;
    await this.#backend.walk(ctx, (info) => {
      if (found !== undefined || info.kind !== "committed") return;
      if (info.labels[SnapshotLabels.ref] !== target || (info.parent ?? "") !== bparent) return;
      found = info;
    });
    return found;
  }

  #lockName(ns: string, key: string): string {
    return `${ns}\x00${key}`;
  }

  #backendLock() {
    return this.#db.backendLock(this.#kind.name);
  }

  #get(tx: ReadTx, ns: string, key: string): Promise<SnapshotRecord | undefined> {
    return tx.getRecord(this.#kind, ns, key);
  }

  async #resolve(ctx: Context, key: string): Promise<string> {
    const ns = namespaceRequired(ctx);
    checkCanceled(ctx);
    const r = await this.#db.read((tx) => this.#get(tx, ns, key));
    if (r === undefined) throw notExist(key);
    return r.backendKey;
  }

  /** Fails early (before the backend works) when the context names a lease that does not exist. */
  async #checkLease(tx: ReadTx, ctx: Context, ns: string): Promise<void> {
    if (ctx.leaseId === undefined) return;
    if ((await tx.get(keys.lease(ns, ctx.leaseId))) === undefined) throw new NotFoundError("lease does not exist");
  }

  /**
   * True when a snapshot of `ns` has `key` as its parent. Index entries whose child a collection removed
   * (or that now has another parent) are stale and skipped; a successful remove drops them all.
   */
  async #hasChildren(tx: ReadTx, ns: string, key: string): Promise<boolean> {
    const tuple = keys.snapshotChildren(ns, this.#name, key);
    for await (const [k] of tx.entries(under(...tuple))) {
      const r = await this.#get(tx, ns, suffix(k, tuple)[0]!);
      if (r !== undefined && r.parent === key) return true;
    }
    return false;
  }

  /** Hands out the next sequence of `ns` (kept in memory, seeded from the highest one recorded). */
  async #nextSequence(ns: string): Promise<number> {
    let n = this.#seq.get(ns);
    if (n === undefined) {
      const stored = await this.#db.view((tx) => tx.get(keys.snapshotSequence(ns, this.#name)));
      // Another call may have seeded it meanwhile.
      n = this.#seq.get(ns) ?? (stored === undefined ? 0 : Number.parseInt(stored, 10) || 0);
    }
    n++;
    this.#seq.set(ns, n);
    return n;
  }

  async #recordSequence(tx: WriteTx, ns: string, seq: number): Promise<void> {
    const k = keys.snapshotSequence(ns, this.#name);
    const stored = await tx.get(k);
    if (stored === undefined || (Number.parseInt(stored, 10) || 0) < seq) tx.put(k, String(seq));
  }

  /** The backend keys of every record of this snapshotter, in all namespaces. */
  #liveBackendKeys(): Promise<Set<string>> {
    return this.#db.view(async (tx) => {
      const live = new Set<string>();
      for await (const [k] of tx.entries(under(...keys.namespaces))) {
        const ns = suffix(k, keys.namespaces)[0]!;
        for await (const [, r] of tx.listRecords(this.#kind, ns)) live.add(r.backendKey);
      }
      return live;
    });
  }

  /** Every key the backend holds. */
  async #backendKeys(signal: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    await this.#backend.walk(background(signal), (info) => {
      out.push(info.name);
    });
    return out;
  }

  /**
   * Removes backend snapshots, children before parents (containerd's `pruneBranch`); a snapshot the
   * backend refuses to remove because it still has children, or that is gone already, is skipped. Then
   * runs the backend's cleanup (which reclaims the directories of asynchronous removals).
   */
  async #removeBackendKeys(doomed: readonly string[], signal: AbortSignal): Promise<void> {
    const ctx = background(signal);
    if (doomed.length > 0) {
      const parentOf = new Map<string, string | undefined>();
      await this.#backend.walk(ctx, (info) => {
        parentOf.set(info.name, info.parent);
      });
      // Depth of each doomed key in the backend tree: deeper ones go first.
      const depth = (k: string): number => {
        let d = 0;
        const seen = new Set<string>();
        for (let p = parentOf.get(k); p !== undefined && !seen.has(p); p = parentOf.get(p)) {
          seen.add(p);
          d++;
        }
        return d;
      };
      const ordered = [...new Set(doomed)].map((k) => [k, depth(k)] as const).sort((a, b) => b[1] - a[1]);
      for (const [k] of ordered) {
        checkCanceled(ctx);
        try {
          await this.#backend.remove(ctx, k);
        } catch (err) {
          if (!isNotFound(err) && !isFailedPrecondition(err)) throw err;
        }
      }
    }
    try {
      await this.#backend.cleanup(ctx);
    } catch (err) {
      if (!isNotImplemented(err)) throw err;
    }
  }
}
