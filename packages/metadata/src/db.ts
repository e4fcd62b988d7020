/**
 * The metadata database: a level database holding namespaced records (schema in `schema.ts`), with
 * snapshot reads, serialized read-modify-write updates, group commit, and the hooks garbage collection
 * needs. It hands out the namespaced content store and the lease manager.
 */
import type { ContentStore, ContentStoreSource } from "@containerts/content";
import { FailedPreconditionError, withContext } from "@containerts/errdefs";
import type { LeaseManager } from "@containerts/leases";
import type { Snapshotter } from "@containerts/snapshots";

import { MetadataContentStore } from "./content.js";
import { type GcHost, type GcStats, type SweepDirty, runGarbageCollection } from "./gc.js";
import { MetadataLeaseManager } from "./leases.js";
import { type MetadataNamespaceStore, createNamespaceStore } from "./namespaces.js";
import { MetadataSnapshotter } from "./snapshots.js";
import { Mutex, RwLock } from "./locks.js";
import { type Migration, type VersionRecord, dbVersion, keys, pendingMigrations, schemaVersion } from "./schema.js";
import { type LevelDatabase, type PendingValue, type ReadTx, UpdateTx, ViewTx, type WriteTx } from "./tx.js";

/** How committed content is shared between namespaces (containerd's metadata `content_sharing_policy`). */
export type ContentSharingPolicy = "shared" | "isolated";

/** Options of {@link DB.open}. */
export interface DBOptions {
  /**
   * The backend content store (not namespaced), e.g. `LocalContentStore`. Without it
   * {@link DB.contentStore} throws.
   */
  readonly content?: ContentStore;
  /**
   * `shared` (default): a writer whose expected digest is on disk but not in its namespace only links
   * it (no data is sent). `isolated`: the client must send the whole blob again.
   */
  readonly contentSharingPolicy?: ContentSharingPolicy;
  /** Migrations to run at open (default: this build's; tests inject their own). */
  readonly migrations?: readonly Migration<WriteTx>[];
  /** The version this build writes (default {@link dbVersion}; tests exercise migrations with it). */
  readonly version?: number;
}

/**
 * A snapshotter's garbage collector: how the collection reaches a snapshotter's backend storage.
 * With `listKeys`, every backend key not referenced by any snapshot record (their `backendKey`) is
 * removed; without it, only the backend keys of records removed by this collection are.
 */
export interface SnapshotterCollector {
  /** All backend keys the snapshotter holds. */
  listKeys?(signal: AbortSignal): Promise<readonly string[]>;
  /** Removes the given backend keys. */
  remove(keys: readonly string[], signal: AbortSignal): Promise<void>;
}

/** Something that can run a collection and wait for it (the GC scheduler). */
export interface CollectionScheduler {
  scheduleAndWait(signal?: AbortSignal): Promise<GcStats>;
}

/** Counters of the write path, for observation and benchmarks. */
export interface WriteStats {
  /** Updates that wrote something and became durable. */
  readonly updates: number;
  /** Synced batches written (each holds one or more updates: group commit). */
  readonly batches: number;
}

/** A callback run after every durable update; `dirty` says whether deletions await a collection. */
export type MutationCallback = (dirty: boolean) => void;

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

interface Group {
  readonly id: number;
  readonly ops: Map<string, PendingValue>;
  /** The updates merged into the group. */
  readonly waiters: Waiter[];
  /** Callers that only wait for the group to be durable. */
  readonly watchers: Waiter[];
}

/**
 * The metadata database over an `abstract-level` database.
 *
 * - `view(fn)` reads from a consistent snapshot and never waits for writers or collections.
 * - `update(fn)` runs read-modify-write functions one at a time (one database-wide mutex: the
 *   functions are short and the cost is the synced write, which group commit shares), collects their
 *   writes, and resolves once they are durable. Updates that queue while a synced batch is being
 *   written are merged into the next batch (group commit).
 * - A failed batch fails every update in it and every update computed on top of it.
 */
export class DB implements ContentStoreSource {
  readonly #level: LevelDatabase;
  readonly #options: DBOptions;
  readonly #mutex = new Mutex();
  readonly #gcMutex = new Mutex();
  readonly #pending = new Map<string, { value: PendingValue; group: number }>();
  readonly #callbacks = new Set<MutationCallback>();
  readonly #collectors = new Map<string, SnapshotterCollector>();
  readonly #backendLocks = new Map<string, RwLock>();
  #open: Group | undefined;
  #inflight: Group | undefined;
  #groupSeq = 0;
  /** Bumped when a batch fails: updates computed before that moment are void. */
  #epoch = 0;
  #closed = false;
  #stats = { updates: 0, batches: 0 };
  /** Deletions since the last metadata sweep (containerd's `dirty`), for the scheduler. */
  #dirty = 0;
  /** Deletions not yet fully collected, persisted under `gc/dirty`. */
  #dirtyPersisted = 0;
  #dirtyContent = false;
  readonly #dirtySnapshotters = new Set<string>();
  /** The first collection after open sweeps every backend (a crash may have left garbage). */
  #startupSweep = true;
  #scheduler: CollectionScheduler | undefined;
  #contentStore: MetadataContentStore | undefined;
  #leaseManager: MetadataLeaseManager | undefined;
  #namespaceStore: MetadataNamespaceStore | undefined;

  private constructor(level: LevelDatabase, options: DBOptions) {
    this.#level = level;
    this.#options = options;
  }

  /**
   * Opens the metadata database on `level` (opening `level` if needed), checks the schema version and
   * runs pending migrations. The DB owns `level` from then on: {@link DB.close} closes it.
   *
   * @throws FailedPreconditionError when the database was written by a newer schema or version, or
   *   holds data without a version record.
   */
  static async open(level: LevelDatabase, options: DBOptions = {}): Promise<DB> {
    if (level.status !== "open") await level.open();
    const db = new DB(level, options);
    await db.#init();
    return db;
  }

  async #init(): Promise<void> {
    const current = this.#options.version ?? dbVersion;
    await this.update(async (tx) => {
      const stored = await tx.getJson<VersionRecord>(keys.version);
      if (stored === undefined && !(await tx.isEmpty({ gte: "", lt: "\u{10FFFF}" }))) {
        throw new FailedPreconditionError("metadata database holds data but no schema version record; refusing to open it");
      }
      const todo = pendingMigrations(stored, this.#options.migrations ?? [], current);
      for (const m of todo) {
        try {
          await m.migrate(tx);
        } catch (err) {
          throw withContext(err, `failed to migrate to ${schemaVersion}.${m.version} (${m.description})`);
        }
      }
      if (stored === undefined || stored.version !== current) {
        tx.putJson(keys.version, { schema: schemaVersion, version: current } satisfies VersionRecord);
      }
      const dirty = await tx.get(keys.gcDirty);
      this.#dirtyPersisted = dirty === undefined ? 0 : Number(dirty);
      this.#dirty = this.#dirtyPersisted;
    });
  }

  /** The underlying level database. */
  get level(): LevelDatabase {
    return this.#level;
  }

  /** Runs `fn` over a consistent snapshot of the database. */
  async view<T>(fn: (tx: ReadTx) => Promise<T> | T): Promise<T> {
    this.#checkOpen();
    const snapshot = this.#level.supports.explicitSnapshots ? this.#level.snapshot() : undefined;
    try {
      return await fn(new ViewTx({ level: this.#level, pending: new Map() }, snapshot));
    } finally {
      await snapshot?.close();
    }
  }

  /**
   * Runs `fn` reading the database's current state without a snapshot: for a function that reads one key
   * (a single read is atomic on its own), it spares the snapshot's creation and release, which cost more
   * than the read. Like {@link view}, it sees durable state only, never a pending update.
   */
  async read<T>(fn: (tx: ReadTx) => Promise<T> | T): Promise<T> {
    this.#checkOpen();
    return fn(new ViewTx({ level: this.#level, pending: new Map() }, undefined));
  }

  /**
   * Runs the read-modify-write function `fn` alone (no other update runs meanwhile), then commits its
   * writes durably (`sync`) and resolves with its result. If `fn` throws, nothing is written; the
   * error is rethrown once the state it saw is durable. `fn` must not call `update` (it would wait for
   * itself); reads inside it see earlier updates even before they are durable.
   * @throws FailedPreconditionError when the database is closed, or when an earlier batch this update
   *   built on failed; the error of the failed batch (kind Unknown) when its own batch fails.
   */
  async update<T>(fn: (tx: WriteTx) => Promise<T> | T): Promise<T> {
    this.#checkOpen();
    const release = await this.#mutex.acquire();
    if (this.#closed) {
      release();
      throw new FailedPreconditionError("metadata database is closed");
    }
    const epoch = this.#epoch;
    let tx: UpdateTx;
    let result: T;
    try {
      tx = new UpdateTx({ level: this.#level, pending: this.#pending }, (t) => this.#onDirty(t));
      result = await fn(tx);
    } catch (err) {
      release();
      // The decision may rest on writes that are not durable yet: report it only once they are.
      await this.#flushed();
      throw err;
    }
    if (epoch !== this.#epoch) {
      release();
      throw new FailedPreconditionError("metadata update computed on a failed commit; retry");
    }
    if (tx.ops.size === 0) {
      release();
      await this.#flushed();
      return result;
    }
    const durable = this.#merge(tx);
    release();
    this.#kick();
    await durable;
    return result;
  }

  #checkOpen(): void {
    if (this.#closed) throw new FailedPreconditionError("metadata database is closed");
  }

  #onDirty(tx: UpdateTx): void {
    tx.put(keys.gcDirty, String(this.#dirtyPersisted + tx.dirty.count));
  }

  #merge(tx: UpdateTx): Promise<void> {
    let group = this.#open;
    if (group === undefined) {
      group = { id: ++this.#groupSeq, ops: new Map(), waiters: [], watchers: [] };
      this.#open = group;
    }
    for (const [k, v] of tx.ops) {
      group.ops.set(k, v);
      this.#pending.set(k, { value: v, group: group.id });
    }
    if (tx.dirty.count > 0) {
      this.#dirty += tx.dirty.count;
      this.#dirtyPersisted += tx.dirty.count;
      if (tx.dirty.content) this.#dirtyContent = true;
      for (const s of tx.dirty.snapshotters) this.#dirtySnapshotters.add(s);
    }
    const g = group;
    return new Promise<void>((resolve, reject) => g.waiters.push({ resolve, reject }));
  }

  #kick(): void {
    if (this.#inflight !== undefined || this.#open === undefined) return;
    const group = this.#open;
    this.#open = undefined;
    this.#inflight = group;
    void this.#write(group);
  }

  async #write(group: Group): Promise<void> {
    const ops = [...group.ops].map(([key, value]) =>
      value === null ? { type: "del" as const, key } : { type: "put" as const, key, value },
    );
    // `sync` is understood by classic-level (fsync of the write-ahead log); others ignore it.
    const options = { keyEncoding: "utf8", valueEncoding: "utf8", sync: true };
    try {
      await this.#level.batch<string, string>(ops, options);
    } catch (err) {
      const failure = withContext(err, "metadata commit");
      this.#epoch++;
      this.#pending.clear();
      const failed = [group, this.#open].filter((g): g is Group => g !== undefined);
      this.#open = undefined;
      this.#inflight = undefined;
      for (const g of failed) for (const w of [...g.waiters, ...g.watchers]) w.reject(failure);
      return;
    }
    for (const k of group.ops.keys()) {
      const p = this.#pending.get(k);
      if (p !== undefined && p.group === group.id) this.#pending.delete(k);
    }
    this.#inflight = undefined;
    this.#stats.batches++;
    this.#stats.updates += group.waiters.length;
    for (const w of [...group.waiters, ...group.watchers]) w.resolve();
    const dirty = this.#dirty > 0;
    for (let i = 0; i < group.waiters.length; i++) for (const cb of this.#callbacks) cb(dirty);
    this.#kick();
  }

  /** Resolves when every update merged so far is durable (rejects if its batch failed). */
  async #flushed(): Promise<void> {
    const groups = [this.#inflight, this.#open].filter((g): g is Group => g !== undefined);
    if (groups.length === 0) return;
    await Promise.all(groups.map((g) => new Promise<void>((resolve, reject) => g.watchers.push({ resolve, reject }))));
  }

  /** Write-path counters (group commit makes `batches` smaller than `updates`). */
  writeStats(): WriteStats {
    return { ...this.#stats };
  }

  /**
   * Registers a callback run after each durable update (containerd's `RegisterMutationCallback`);
   * the GC scheduler uses it. Returns a function that unregisters it.
   */
  registerMutationCallback(fn: MutationCallback): () => void {
    this.#callbacks.add(fn);
    return () => this.#callbacks.delete(fn);
  }

  /**
   * The lock guarding a backend (`content`, `snapshots/<name>`) against a collection's backend sweep:
   * code that creates backend objects and then records them holds it shared; the sweep holds it
   * exclusively. Reads never take it.
   */
  backendLock(name: string): RwLock {
    let lock = this.#backendLocks.get(name);
    if (lock === undefined) {
      lock = new RwLock();
      this.#backendLocks.set(name, lock);
    }
    return lock;
  }

  /**
   * Registers the collector of snapshotter `name`, so collections clean its backend (see
   * {@link SnapshotterCollector}). Returns a function that unregisters it.
   * @throws FailedPreconditionError when a collector is already registered for `name`.
   */
  registerSnapshotterCollector(name: string, collector: SnapshotterCollector): () => void {
    if (this.#collectors.has(name)) {
      throw new FailedPreconditionError(`snapshotter collector ${JSON.stringify(name)} already registered`);
    }
    this.#collectors.set(name, collector);
    return () => {
      if (this.#collectors.get(name) === collector) this.#collectors.delete(name);
    };
  }

  /**
   * The namespaced content store over the backend content store (satisfies `ContentStoreSource`).
   * @throws FailedPreconditionError when the DB was opened without a backend content store.
   */
  contentStore(): MetadataContentStore {
    if (this.#contentStore === undefined) {
      if (this.#options.content === undefined) {
        throw new FailedPreconditionError("metadata database has no backend content store");
      }
      this.#contentStore = new MetadataContentStore(this, this.#options.content, {
        shared: (this.#options.contentSharingPolicy ?? "shared") === "shared",
      });
    }
    return this.#contentStore;
  }

  /** The namespace store of this database (satisfies the namespaces plugin's `NamespaceStoreSource`). */
  namespaceStore(): MetadataNamespaceStore {
    this.#namespaceStore ??= createNamespaceStore(this);
    return this.#namespaceStore;
  }

  /**
   * Puts the backend snapshotter `backend` behind a namespaced snapshotter named `name` (`overlayfs`,
   * `native`, …) whose records live in this database, and registers its garbage collector (backend
   * snapshots no record refers to are removed by collections). Closing the returned snapshotter
   * unregisters the collector and closes `backend`.
   * @throws FailedPreconditionError when a snapshotter named `name` is already registered.
   */
  snapshotter(name: string, backend: Snapshotter): MetadataSnapshotter {
    this.#checkOpen();
    return new MetadataSnapshotter(this, name, backend);
  }

  /** The lease manager storing leases in this database. */
  leaseManager(): LeaseManager {
    this.#leaseManager ??= new MetadataLeaseManager(this);
    return this.#leaseManager;
  }

  /**
   * Attaches the GC scheduler, which {@link DB.collectAndWait} then goes through. Returns a function
   * that detaches it.
   */
  attachScheduler(scheduler: CollectionScheduler): () => void {
    this.#scheduler = scheduler;
    return () => {
      if (this.#scheduler === scheduler) this.#scheduler = undefined;
    };
  }

  /**
   * Runs a collection and waits for it: through the attached scheduler if any (a synchronous lease or
   * image delete), else directly.
   */
  collectAndWait(signal?: AbortSignal): Promise<GcStats> {
    return this.#scheduler !== undefined ? this.#scheduler.scheduleAndWait(signal) : this.garbageCollect(signal);
  }

  /**
   * Runs one garbage collection now (see `gc.ts`): marks from the roots, removes unreachable
   * records, then cleans the backends. Collections are serialized.
   */
  garbageCollect(signal: AbortSignal = new AbortController().signal): Promise<GcStats> {
    this.#checkOpen();
    return this.#gcMutex.run(() => runGarbageCollection(this.#gcHost(), signal));
  }

  /** The metadata sweep of a collection: one update that also hands the dirty state to the backend phase. */
  async #sweepUpdate<T>(fn: (tx: WriteTx) => Promise<T>): Promise<{ result: T; dirty: SweepDirty }> {
    let reset = false;
    try {
      return await this.update(async (tx) => {
        const result = await fn(tx);
        // What the sweep removes is handed to the backend phase; deletions before it are covered.
        const dirty: SweepDirty = {
          persisted: this.#dirtyPersisted,
          content: this.#dirtyContent || this.#startupSweep,
          snapshotters: new Set(this.#dirtySnapshotters),
          allSnapshotters: this.#startupSweep,
        };
        this.#dirty = 0;
        this.#dirtyContent = false;
        this.#dirtySnapshotters.clear();
        this.#startupSweep = false;
        reset = true;
        return { result, dirty };
      });
    } catch (err) {
      if (reset) {
        // The sweep's batch failed after the dirty state was handed over: make the next
        // collection happen and sweep every backend.
        this.#startupSweep = true;
        this.#dirty++;
      }
      throw err;
    }
  }

  #gcHost(): GcHost {
    return {
      sweepMetadata: (fn) => this.#sweepUpdate(fn),
      clearPersistedDirty: (covered) =>
        this.update((tx) => {
          const remaining = Math.max(0, this.#dirtyPersisted - covered);
          if (this.#dirtyPersisted === 0) return;
          if (remaining === 0) tx.del(keys.gcDirty);
          else tx.put(keys.gcDirty, String(remaining));
          this.#dirtyPersisted = remaining;
        }),
      view: (fn) => this.view(fn),
      backend: this.#options.content,
      backendLock: (name) => this.backendLock(name),
      collectors: () => new Map(this.#collectors),
    };
  }

  /** Deletions recorded since the last metadata sweep (what the scheduler calls "dirty"). */
  get dirty(): boolean {
    return this.#dirty > 0;
  }

  /** Waits for pending writes, then closes the level database. Calling it again does nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    // Let a running collection finish, then refuse new work and wait for what is merged.
    await this.#gcMutex.run(() =>
      this.#mutex.run(async () => {
        this.#closed = true;
        await this.#flushed().catch(() => undefined);
      }),
    );
    await this.#level.close();
  }
}
