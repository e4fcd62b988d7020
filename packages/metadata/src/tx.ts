/**
 * Transactions over the level database: {@link ReadTx} (a consistent snapshot) and {@link WriteTx}
 * (serialized read-modify-write that collects a batch). Created by `DB.view` and `DB.update`.
 */
import type { AbstractLevel, AbstractSnapshot } from "abstract-level";

import { type KeyRange, compareKeys, decodeKey, keys, under } from "./schema.js";
import { type ObjectKind, type StoredObject, decodeObject, encodeObject } from "./objects.js";

/**
 * The level database the metadata store runs on: any `abstract-level` database with string keys and
 * values (`classic-level`/`level` in the daemon, `memory-level` in tests). Every call passes explicit
 * `utf8` encodings, so the database's own defaults do not matter.
 */
// The storage format varies by implementation (Buffer, Uint8Array, string); it never reaches our code.
export type LevelDatabase = AbstractLevel<any, string, string>;

/** A pending (not yet durable) write: a value, or null for a deletion. */
export type PendingValue = string | null;

/** What a transaction needs from its database. */
export interface TxHost {
  readonly level: LevelDatabase;
  /** Writes merged into a commit group but not yet durable; reads inside updates see them. */
  readonly pending: ReadonlyMap<string, { readonly value: PendingValue }>;
}

const utf8 = { keyEncoding: "utf8", valueEncoding: "utf8" } as const;
const ITERATE_BATCH = 256;

/** Options of {@link ReadTx.entries}. */
export interface EntriesOptions {
  /** Stop after this many entries. */
  readonly limit?: number;
}

/**
 * A read transaction: every read sees the same state. Keys and ranges come from `schema.ts`.
 */
export interface ReadTx {
  /** The value at `k`, or undefined. */
  get(k: string): Promise<string | undefined>;
  /** The JSON value at `k`, parsed, or undefined. */
  getJson<T>(k: string): Promise<T | undefined>;
  /** Entries in `range`, in key order. */
  entries(range: KeyRange, options?: EntriesOptions): AsyncIterable<[string, string]>;
  /** True when `range` holds no key. */
  isEmpty(range: KeyRange): Promise<boolean>;
  /** The first key in `range`, or undefined. */
  firstKey(range: KeyRange): Promise<string | undefined>;
  /** True when namespace `ns` exists. */
  namespaceExists(ns: string): Promise<boolean>;
  /** The record `id` of `kind` in namespace `ns`, or undefined. */
  getRecord<T>(kind: ObjectKind<T>, ns: string, id: string): Promise<T | undefined>;
  /** All records of `kind` in namespace `ns`, in id order. */
  listRecords<T>(kind: ObjectKind<T>, ns: string): AsyncIterable<[id: string, record: T]>;
}

/** What a write transaction marks as needing a garbage collection. */
export type DirtyTarget = "content" | { readonly snapshotter: string } | "metadata";

/**
 * A write transaction: reads see the latest committed state (including writes that are committed but
 * not yet durable) plus this transaction's own writes; writes are collected and applied atomically
 * when the transaction function returns. Throwing from the function discards every write.
 */
export interface WriteTx extends ReadTx {
  /** Sets `k` to `value`. */
  put(k: string, value: string): void;
  /** Sets `k` to `JSON.stringify(value)`. */
  putJson(k: string, value: unknown): void;
  /** Deletes `k` (deleting an absent key is fine). */
  del(k: string): void;
  /** Deletes every key in `range`; resolves to how many there were. */
  delRange(range: KeyRange): Promise<number>;
  /** Creates namespace `ns` (no labels) unless it exists: every namespaced write calls this. */
  ensureNamespace(ns: string): Promise<void>;
  /** Records that something was removed, so the next garbage collection has work to do. */
  markDirty(target: DirtyTarget): void;
  /** Writes record `id` of `kind` in `ns` (creating the namespace), with its GC edges. */
  putRecord<T>(kind: ObjectKind<T>, ns: string, id: string, record: T): Promise<void>;
  /** Deletes record `id` of `kind` in `ns` and marks the database dirty; false when it was absent. */
  deleteRecord<T>(kind: ObjectKind<T>, ns: string, id: string): Promise<boolean>;
}

/** Whether the database implements `getSync` (abstract-level 3; missing from level-supports' typings). */
function supportsGetSync(level: LevelDatabase): boolean {
  const manifest: object = level.supports;
  return "getSync" in manifest && manifest.getSync === true;
}

function inRange(k: string, range: KeyRange): boolean {
  return compareKeys(k, range.gte) >= 0 && compareKeys(k, range.lt) < 0;
}

abstract class BaseTx implements ReadTx {
  /** Whether point reads use `getSync` (when the database implements it). */
  readonly #syncReads: boolean;

  constructor(protected readonly host: TxHost) {
    this.#syncReads = supportsGetSync(host.level);
  }

  protected abstract readOptions(): { snapshot?: AbstractSnapshot };
  /** Local (unflushed) entries overriding the database in a range, or undefined for none. */
  protected abstract localEntries(range: KeyRange): [string, PendingValue][] | undefined;
  protected abstract localGet(k: string): PendingValue | undefined;

  async get(k: string): Promise<string | undefined> {
    const local = this.localGet(k);
    if (local !== undefined) return local === null ? undefined : local;
    const level = this.host.level;
    // Point reads of this small, hot database are memtable or block-cache hits: a synchronous read
    // costs a few microseconds, where an asynchronous one costs a thread-pool round trip (two context
    // switches, and a wake-up delay on a busy machine) per key. Inside an update it also keeps the
    // write lock's critical section short. Views read from their snapshot either way.
    if (this.#syncReads) return level.getSync<string, string>(k, { ...utf8, ...this.readOptions() });
    return level.get<string, string>(k, { ...utf8, ...this.readOptions() });
  }

  async getJson<T>(k: string): Promise<T | undefined> {
    const v = await this.get(k);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  async *entries(range: KeyRange, options: EntriesOptions = {}): AsyncGenerator<[string, string]> {
    const limit = options.limit ?? Infinity;
    if (limit <= 0) return;
    let emitted = 0;
    const local = this.localEntries(range)?.sort((a, b) => compareKeys(a[0], b[0])) ?? [];
    let i = 0;
    const it = this.host.level.iterator<string, string>({ gte: range.gte, lt: range.lt, ...utf8, ...this.readOptions() });
    try {
      for (;;) {
        const batch = await it.nextv(ITERATE_BATCH);
        if (batch.length === 0) break;
        for (const [k, v] of batch) {
          while (i < local.length && compareKeys(local[i]![0], k) < 0) {
            const [lk, lv] = local[i++]!;
            if (lv !== null) {
              yield [lk, lv];
              if (++emitted >= limit) return;
            }
          }
          let value: PendingValue = v;
          if (i < local.length && local[i]![0] === k) value = local[i++]![1];
          if (value !== null) {
            yield [k, value];
            if (++emitted >= limit) return;
          }
        }
      }
      while (i < local.length) {
        const [lk, lv] = local[i++]!;
        if (lv !== null) {
          yield [lk, lv];
          if (++emitted >= limit) return;
        }
      }
    } finally {
      await it.close();
    }
  }

  async firstKey(range: KeyRange): Promise<string | undefined> {
    for await (const [k] of this.entries(range, { limit: 1 })) return k;
    return undefined;
  }

  async isEmpty(range: KeyRange): Promise<boolean> {
    return (await this.firstKey(range)) === undefined;
  }

  async namespaceExists(ns: string): Promise<boolean> {
    return (await this.get(keys.namespace(ns))) !== undefined;
  }

  async getRecord<T>(kind: ObjectKind<T>, ns: string, id: string): Promise<T | undefined> {
    const stored = await this.getJson<StoredObject>(keys.object(ns, kind.name, id));
    return stored === undefined ? undefined : decodeObject(kind, stored);
  }

  async *listRecords<T>(kind: ObjectKind<T>, ns: string): AsyncGenerator<[string, T]> {
    const tuple = keys.objectKind(ns, kind.name);
    for await (const [k, v] of this.entries(under(...tuple))) {
      const parts = decodeKey(k);
      if (parts.length !== tuple.length + 1) continue;
      yield [parts[tuple.length]!, decodeObject(kind, JSON.parse(v) as StoredObject)];
    }
  }
}

/** A read transaction over an explicit snapshot (or plain reads when the database has none). */
export class ViewTx extends BaseTx {
  constructor(
    host: TxHost,
    private readonly snapshot: AbstractSnapshot | undefined,
  ) {
    super(host);
  }

  protected readOptions(): { snapshot?: AbstractSnapshot } {
    return this.snapshot === undefined ? {} : { snapshot: this.snapshot };
  }

  protected localEntries(): undefined {
    return undefined;
  }

  protected localGet(): undefined {
    return undefined;
  }
}

/** The write transaction of `DB.update`. */
export class UpdateTx extends BaseTx implements WriteTx {
  /** This transaction's writes, in order of first touch. */
  readonly ops = new Map<string, PendingValue>();
  /** What the transaction marked dirty. */
  readonly dirty: { count: number; content: boolean; snapshotters: Set<string> } = {
    count: 0,
    content: false,
    snapshotters: new Set(),
  };

  constructor(
    host: TxHost,
    private readonly onDirty: (tx: UpdateTx) => void,
  ) {
    super(host);
  }

  protected readOptions(): Record<string, never> {
    return {};
  }

  protected localGet(k: string): PendingValue | undefined {
    if (this.ops.has(k)) return this.ops.get(k)!;
    const p = this.host.pending.get(k);
    return p === undefined ? undefined : p.value;
  }

  protected localEntries(range: KeyRange): [string, PendingValue][] {
    const merged = new Map<string, PendingValue>();
    for (const [k, p] of this.host.pending) if (inRange(k, range)) merged.set(k, p.value);
    for (const [k, v] of this.ops) if (inRange(k, range)) merged.set(k, v);
    return [...merged];
  }

  put(k: string, value: string): void {
    this.ops.set(k, value);
  }

  putJson(k: string, value: unknown): void {
    this.ops.set(k, JSON.stringify(value));
  }

  del(k: string): void {
    this.ops.set(k, null);
  }

  async delRange(range: KeyRange): Promise<number> {
    const doomed: string[] = [];
    for await (const [k] of this.entries(range)) doomed.push(k);
    for (const k of doomed) this.del(k);
    return doomed.length;
  }

  async ensureNamespace(ns: string): Promise<void> {
    const k = keys.namespace(ns);
    if ((await this.get(k)) === undefined) this.putJson(k, { labels: {} });
  }

  markDirty(target: DirtyTarget): void {
    this.dirty.count++;
    if (target === "content") this.dirty.content = true;
    else if (typeof target === "object") this.dirty.snapshotters.add(target.snapshotter);
    this.onDirty(this);
  }

  async putRecord<T>(kind: ObjectKind<T>, ns: string, id: string, record: T): Promise<void> {
    await this.ensureNamespace(ns);
    this.putJson(keys.object(ns, kind.name, id), encodeObject(kind, record));
  }

  async deleteRecord<T>(kind: ObjectKind<T>, ns: string, id: string): Promise<boolean> {
    const k = keys.object(ns, kind.name, id);
    if ((await this.get(k)) === undefined) return false;
    this.del(k);
    this.markDirty(kind.name.startsWith("snapshots/") ? { snapshotter: kind.name.slice("snapshots/".length) } : "metadata");
    return true;
  }
}
