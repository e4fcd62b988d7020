/**
 * The transaction layer of a snapshotter's metadata database (containerd's `snapshots/storage.MetaStore`,
 * which uses bolt). The database is any `abstract-level` database with string keys and values: the daemon
 * opens a `level` database at `<snapshotter root>/metadata.level`, tests use `memory-level`.
 *
 * Write transactions are serialized in-process (one at a time, in arrival order), buffer their writes,
 * read their own writes, and commit as one atomic `batch` written with `sync: true`, so a committed
 * transaction survives a crash. Read transactions take no lock and read committed state.
 */
import type { AbstractBatchOptions, AbstractLevel } from "abstract-level";
import { CanceledError, FailedPreconditionError } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { ParentChains } from "./chains.js";

/**
 * The database a snapshotter keeps its metadata in: an `abstract-level` database with string keys and
 * values (for example `new Level(location)` from `level`, or `new MemoryLevel()` in tests).
 */
export type SnapshotDatabase = AbstractLevel<string | Buffer | Uint8Array, string, string>;

/** Reads within a transaction. */
export interface ReadTransaction {
  /** The value stored at `key`, or `undefined`. */
  get(key: string): Promise<string | undefined>;
  /** Every entry whose key starts with `prefix`, in key order. */
  range(prefix: string): Promise<Array<readonly [string, string]>>;
  /** The store's memo of parent chains, shared by its transactions (absent: every chain is read). */
  readonly chains?: ParentChains;
}

/** Reads and buffered writes within a write transaction. */
export interface WriteTransaction extends ReadTransaction {
  /** Stores `value` at `key` when the transaction commits. */
  put(key: string, value: string): void;
  /** Deletes `key` when the transaction commits. */
  del(key: string): void;
}

/** Throws Canceled when the context's signal is aborted. */
export function throwIfCanceled(ctx: Context): void {
  if (ctx.signal.aborted) {
    throw new CanceledError("snapshotter operation", { cause: ctx.signal.reason });
  }
}

/** One-at-a-time lock: `acquire` resolves with the release function, in arrival order. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => next);
    return ready;
  }
}

/** Prefix range bounds: every key starting with `prefix`. */
function prefixRange(prefix: string): { gte: string; lt: string } {
  // Keys are compared by code unit; appending the highest code unit bounds the prefix.
  return { gte: prefix, lt: `${prefix}\uffff` };
}

/** Whether the database implements `getSync` (abstract-level 3; missing from level-supports' typings). */
function supportsGetSync(db: SnapshotDatabase): boolean {
  const manifest: object = db.supports;
  return "getSync" in manifest && manifest.getSync === true;
}

class Tx implements WriteTransaction {
  readonly pending = new Map<string, string | null>();
  readonly #sync: boolean;

  constructor(
    private readonly db: SnapshotDatabase,
    readonly chains: ParentChains,
  ) {
    this.#sync = supportsGetSync(db);
  }

  async get(key: string): Promise<string | undefined> {
    const p = this.pending.get(key);
    if (p !== undefined) return p ?? undefined;
    // Point reads of this small database are memtable or block-cache hits: a synchronous read skips the
    // thread-pool round trip, which dominates walks of long parent chains.
    if (this.#sync) return this.db.getSync(key);
    return this.db.get(key);
  }

  async range(prefix: string): Promise<Array<readonly [string, string]>> {
    const merged = new Map<string, string>();
    for await (const [k, v] of this.db.iterator(prefixRange(prefix))) merged.set(k, v);
    for (const [k, v] of this.pending) {
      if (!k.startsWith(prefix)) continue;
      if (v === null) merged.delete(k);
      else merged.set(k, v);
    }
    return [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  put(key: string, value: string): void {
    this.pending.set(key, value);
  }

  del(key: string): void {
    this.pending.set(key, null);
  }
}

/**
 * A snapshotter's metadata store: an `abstract-level` database plus in-process serialization of writes.
 * The store owns the database: {@link close} closes it.
 */
export class MetaStore {
  readonly #db: SnapshotDatabase;
  readonly #lock = new Mutex();
  readonly #chains = new ParentChains();
  #closed = false;

  private constructor(db: SnapshotDatabase) {
    this.#db = db;
  }

  /** Opens (if needed) the database and returns the store over it. */
  static async open(db: SnapshotDatabase): Promise<MetaStore> {
    if (db.status !== "open") await db.open();
    return new MetaStore(db);
  }

  /** Runs `fn` over the committed state. */
  async view<T>(ctx: Context, fn: (tx: ReadTransaction) => Promise<T>): Promise<T> {
    throwIfCanceled(ctx);
    this.#checkOpen();
    return fn(new Tx(this.#db, this.#chains));
  }

  /**
   * Runs `fn` as the only write transaction in progress and commits its writes atomically and durably
   * when it resolves. When `fn` throws, nothing is written. When the commit itself fails, the error is
   * thrown: the caller undoes whatever it did on disk inside `fn`.
   */
  async update<T>(ctx: Context, fn: (tx: WriteTransaction) => Promise<T>): Promise<T> {
    throwIfCanceled(ctx);
    const release = await this.#lock.acquire();
    try {
      throwIfCanceled(ctx);
      this.#checkOpen();
      const tx = new Tx(this.#db, this.#chains);
      const result = await fn(tx);
      if (tx.pending.size > 0) {
        const ops = [...tx.pending].map(([key, value]) =>
          value === null ? { type: "del" as const, key } : { type: "put" as const, key, value },
        );
        // `sync` is understood by on-disk databases (classic-level) and ignored by memory-level.
        const options: AbstractBatchOptions<string, string> & { sync: boolean } = { sync: true };
        await this.#db.batch(ops, options);
      }
      return result;
    } finally {
      release();
    }
  }

  /** Closes the database after the running write transaction (if any). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const release = await this.#lock.acquire();
    try {
      await this.#db.close();
    } finally {
      release();
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new FailedPreconditionError("snapshotter metadata store is closed");
  }
}
