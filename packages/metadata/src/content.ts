/**
 * The namespaced content store (containerd's `metadata/content.go`): blobs live once in the backend
 * content store and are made visible per namespace by a blob record (size, times, labels); ingests are
 * tracked per namespace with their backend ref `<ns>/<sequence>/<ref>`; leases and expiry protect
 * ingests and blobs from garbage collection.
 */
import {
  type CommitOptions,
  type ContentInfo,
  type ContentStore,
  type ContentWriter,
  type Descriptor,
  type Digest,
  type IngestStatus,
  type ReadOptions,
  type ReaderAt,
  type WalkFn,
  type WriterOptions,
  contentInfoAdaptor,
  ingestStatusAdaptor,
  parseDigest,
} from "@containerts/content";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  isAlreadyExists,
  isNotFound,
} from "@containerts/errdefs";
import {
  type Context,
  applyLabelPaths,
  cleanLabels,
  namespaceRequired,
  parseFilters,
  validateLabels,
} from "@containerts/namespaces";

import type { DB } from "./db.js";
import { addLeaseResource, removeLeaseResource } from "./leases.js";
import { keys, under, suffix } from "./schema.js";
import type { WriteTx } from "./tx.js";

/** A blob's visibility record in one namespace. */
export interface BlobRecord {
  readonly size: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** An ingest record in one namespace. */
export interface IngestRecord {
  /** The backend ref, `<ns>/<sequence>/<ref>`. */
  readonly ref: string;
  readonly startedAt: string;
  /** Set when written without a lease: garbage collection may remove the ingest after it. */
  readonly expireAt?: string;
  /** Set for a shared ingest: the blob is on disk already (possibly in another namespace only). */
  readonly expected?: string;
  /** The shared blob's size. */
  readonly size?: number;
}

/** How long an ingest written without a lease is protected from garbage collection. */
export const ingestExpiryMs = 24 * 60 * 60 * 1000;

/** Options of {@link MetadataContentStore}. */
export interface MetadataContentStoreOptions {
  /** The `shared` policy (default true); false is `isolated`. */
  readonly shared?: boolean;
}

function toInfo(dgst: Digest, r: BlobRecord): ContentInfo {
  return {
    digest: dgst,
    size: r.size,
    createdAt: new Date(r.createdAt),
    updatedAt: new Date(r.updatedAt),
    labels: { ...r.labels },
  };
}

function validDigest(d: string): Digest {
  return parseDigest(d).digest;
}

/**
 * The content store of the metadata database: a namespaced view of a backend {@link ContentStore}.
 * Obtain it with `db.contentStore()`. Every method requires `ctx.namespace`
 * (FailedPreconditionError `namespace is required` otherwise).
 */
export class MetadataContentStore implements ContentStore {
  readonly #db: DB;
  readonly #backend: ContentStore;
  readonly #shared: boolean;

  /** Wraps `backend`; use `db.contentStore()` rather than constructing one. */
  constructor(db: DB, backend: ContentStore, options: MetadataContentStoreOptions = {}) {
    this.#db = db;
    this.#backend = backend;
    this.#shared = options.shared ?? true;
  }

  /** The backend (not namespaced) content store. */
  get backend(): ContentStore {
    return this.#backend;
  }

  /** Runs `fn` holding the content backend lock shared (no collection sweeps the backend meanwhile). */
  #locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.#db.backendLock("content").runShared(fn);
  }

  async #visible(ns: string, dgst: Digest): Promise<BlobRecord> {
    const record = await this.#db.read((tx) => tx.getJson<BlobRecord>(keys.blob(ns, dgst)));
    if (record === undefined) throw new NotFoundError(`content digest ${dgst}`);
    return record;
  }

  // --- Manager -------------------------------------------------------------------------------

  async info(ctx: Context, dgst: Digest): Promise<ContentInfo> {
    const ns = namespaceRequired(ctx);
    validDigest(dgst);
    return toInfo(dgst, await this.#visible(ns, dgst));
  }

  async update(
    ctx: Context,
    info: Pick<ContentInfo, "digest"> & Partial<ContentInfo>,
    fieldpaths?: readonly string[],
  ): Promise<ContentInfo> {
    const ns = namespaceRequired(ctx);
    const dgst = validDigest(info.digest);
    return this.#db.update(async (tx) => {
      const k = keys.blob(ns, dgst);
      const current = await tx.getJson<BlobRecord>(k);
      if (current === undefined) throw new NotFoundError(`content digest ${dgst}`);
      const labels = applyLabelPaths(current.labels, info.labels ?? {}, fieldpaths ?? [], {
        object: `content info ${JSON.stringify(dgst)}`,
      });
      validateLabels(labels);
      const updated: BlobRecord = { ...current, labels, updatedAt: new Date().toISOString() };
      tx.putJson(k, updated);
      return toInfo(dgst, updated);
    });
  }

  async walk(ctx: Context, fn: WalkFn, filters: readonly string[] = []): Promise<void> {
    const ns = namespaceRequired(ctx);
    const filter = parseFilters(filters);
    const infos = await this.#db.view(async (tx) => {
      const out: ContentInfo[] = [];
      const tuple = keys.blobs(ns);
      for await (const [k, v] of tx.entries(under(...tuple))) {
        const info = toInfo(suffix(k, tuple)[0]!, JSON.parse(v) as BlobRecord);
        if (filter.match(contentInfoAdaptor(info))) out.push(info);
      }
      return out;
    });
    for (const info of infos) await fn(info);
  }

  async delete(ctx: Context, dgst: Digest): Promise<void> {
    const ns = namespaceRequired(ctx);
    validDigest(dgst);
    await this.#locked(() =>
      this.#db.update(async (tx) => {
        const k = keys.blob(ns, dgst);
        if ((await tx.get(k)) === undefined) throw new NotFoundError(`content digest ${dgst}`);
        tx.del(k);
        await removeLeaseResource(tx, ctx, ns, ["content", dgst]);
        tx.markDirty("content");
      }),
    );
  }

  // --- Provider ------------------------------------------------------------------------------

  async readerAt(ctx: Context, desc: Pick<Descriptor, "digest"> & Partial<Descriptor>): Promise<ReaderAt> {
    const ns = namespaceRequired(ctx);
    validDigest(desc.digest);
    await this.#visible(ns, desc.digest);
    return this.#backend.readerAt(ctx, desc);
  }

  async *read(ctx: Context, dgst: Digest, options?: ReadOptions): AsyncGenerator<Uint8Array, void, undefined> {
    const ns = namespaceRequired(ctx);
    validDigest(dgst);
    await this.#visible(ns, dgst);
    yield* this.#backend.read(ctx, dgst, options);
  }

  // --- IngestManager -------------------------------------------------------------------------

  async #ingestStatus(ctx: Context, ref: string, record: IngestRecord): Promise<IngestStatus> {
    if (record.expected !== undefined) {
      const at = new Date(record.startedAt);
      const size = record.size ?? 0;
      return { ref, offset: size, total: size, expected: record.expected, startedAt: at, updatedAt: at };
    }
    const st = await this.#backend.status(ctx, record.ref);
    return { ...st, ref };
  }

  async status(ctx: Context, ref: string): Promise<IngestStatus> {
    const ns = namespaceRequired(ctx);
    const record = await this.#db.read((tx) => tx.getJson<IngestRecord>(keys.ingest(ns, ref)));
    if (record === undefined) throw new NotFoundError(`reference ${ref}`);
    try {
      return await this.#ingestStatus(ctx, ref, record);
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`reference ${ref}`, { cause: err });
      throw err;
    }
  }

  async listStatuses(ctx: Context, filters: readonly string[] = []): Promise<IngestStatus[]> {
    const ns = namespaceRequired(ctx);
    const filter = parseFilters(filters);
    const records = await this.#db.view(async (tx) => {
      const out: [string, IngestRecord][] = [];
      const tuple = keys.ingests(ns);
      for await (const [k, v] of tx.entries(under(...tuple))) out.push([suffix(k, tuple)[0]!, JSON.parse(v) as IngestRecord]);
      return out;
    });
    const statuses: IngestStatus[] = [];
    for (const [ref, record] of records) {
      let st: IngestStatus;
      try {
        st = await this.#ingestStatus(ctx, ref, record);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      if (filter.match(ingestStatusAdaptor(st))) statuses.push(st);
    }
    return statuses;
  }

  async abort(ctx: Context, ref: string): Promise<void> {
    const ns = namespaceRequired(ctx);
    await this.#locked(async () => {
      const record = await this.#db.update(async (tx) => {
        const k = keys.ingest(ns, ref);
        const record = await tx.getJson<IngestRecord>(k);
        if (record === undefined) throw new NotFoundError(`reference ${ref}`);
        tx.del(k);
        await removeLeaseResource(tx, ctx, ns, ["ingests", ref]);
        tx.markDirty("content");
        return record;
      });
      // A shared ingest has nothing in the backend. A backend ingest that is already gone is fine.
      if (record.expected === undefined) {
        try {
          await this.#backend.abort(ctx, record.ref);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    });
  }

  // --- Ingester ------------------------------------------------------------------------------

  async writer(ctx: Context, options: WriterOptions): Promise<ContentWriter> {
    const { ref } = options;
    if (ref === "") throw new InvalidArgumentError("ref must not be empty");
    const ns = namespaceRequired(ctx);
    const expected = options.expected === undefined || options.expected === "" ? undefined : validDigest(options.expected);
    const total = Math.max(0, options.total ?? 0);

    return this.#locked(async () => {
      // The shared policy: the expected blob is on disk (maybe only in another namespace).
      let sharedSize: number | undefined;
      if (expected !== undefined && this.#shared) {
        try {
          const st = await this.#backend.info(ctx, expected);
          if (total === 0 || total === st.size) sharedSize = st.size;
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }

      const opened = await this.#db.update(async (tx) => {
        if (expected !== undefined && (await tx.get(keys.blob(ns, expected))) !== undefined) {
          // Lease the existing blob so that the caller's lease keeps it, then report it exists.
          await addLeaseResource(tx, ctx, ns, ["content", expected]);
          return undefined;
        }
        await tx.ensureNamespace(ns);
        const k = keys.ingest(ns, ref);
        const existing = await tx.getJson<IngestRecord>(k);
        const leased = await addLeaseResource(tx, ctx, ns, ["ingests", ref]);
        const now = new Date();
        let backendRef = existing?.ref;
        if (backendRef === undefined) {
          const seq = Number((await tx.get(keys.sequence(ns))) ?? "0") + 1;
          tx.put(keys.sequence(ns), String(seq));
          backendRef = `${ns}/${seq}/${ref}`;
        }
        const record: {
          ref: string;
          startedAt: string;
          expireAt?: string;
          expected?: string;
          size?: number;
        } = { ref: backendRef, startedAt: existing?.startedAt ?? now.toISOString() };
        // Without a lease the ingest may be reaped once stale; with one, the lease decides.
        if (!leased) record.expireAt = new Date(now.getTime() + ingestExpiryMs).toISOString();
        else if (existing?.expireAt !== undefined) record.expireAt = existing.expireAt;
        if (sharedSize !== undefined && expected !== undefined) {
          record.expected = expected;
          record.size = sharedSize;
          record.startedAt = now.toISOString();
        }
        tx.putJson(k, record);
        return record as IngestRecord;
      });
      if (opened === undefined) throw new AlreadyExistsError(`content ${expected}`);

      let backendWriter: ContentWriter | undefined;
      if (opened.expected === undefined) {
        // The expected digest is not passed down: the blob must be committed in this namespace
        // before it counts as present here, whatever the backend holds.
        backendWriter = await this.#backend.writer(ctx, { ref: opened.ref, total });
      }
      return new MetadataWriter({
        db: this.#db,
        backend: this.#backend,
        ctx,
        ns,
        ref,
        record: opened,
        writer: backendWriter,
        total,
        locked: (fn) => this.#locked(fn),
      });
    });
  }
}

interface MetadataWriterInit {
  readonly db: DB;
  readonly backend: ContentStore;
  readonly ctx: Context;
  readonly ns: string;
  readonly ref: string;
  readonly record: IngestRecord;
  readonly writer: ContentWriter | undefined;
  readonly total: number;
  locked<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * A writer in one namespace: a backend writer for the backend ref, or (for a shared ingest) none until
 * the caller writes or truncates, at which point the blob is copied into a fresh backend ingest.
 */
class MetadataWriter implements ContentWriter {
  readonly ref: string;
  readonly #init: MetadataWriterInit;
  #writer: ContentWriter | undefined;
  /** The shared blob, while the ingest is shared. */
  #shared: { readonly digest: Digest; readonly size: number; readonly startedAt: Date } | undefined;
  #done = false;

  constructor(init: MetadataWriterInit) {
    this.#init = init;
    this.ref = init.ref;
    this.#writer = init.writer;
    if (init.writer === undefined && init.record.expected !== undefined) {
      this.#shared = { digest: init.record.expected, size: init.record.size ?? 0, startedAt: new Date(init.record.startedAt) };
    }
  }

  get offset(): number {
    return this.#writer?.offset ?? this.#shared?.size ?? 0;
  }

  #check(op: string): void {
    if (this.#done) throw new FailedPreconditionError(`${op} on closed writer for ref ${this.ref}`);
  }

  /** Turns a shared ingest into a real one, copying the first `copyBytes` bytes of the blob. */
  async #unshare(copyBytes: number): Promise<ContentWriter> {
    const shared = this.#shared!;
    const { backend, ctx, record } = this.#init;
    const w = await this.#init.locked(async () => {
      const w = await backend.writer(ctx, { ref: record.ref, total: this.#init.total });
      try {
        if (w.offset > 0) await w.truncate(0);
        if (copyBytes > 0) {
          for await (const chunk of backend.read(ctx, shared.digest, { size: copyBytes })) await w.write(chunk);
        }
        await this.#init.db.update(async (tx) => {
          const k = keys.ingest(this.#init.ns, this.ref);
          const current = await tx.getJson<IngestRecord>(k);
          if (current === undefined || current.ref !== record.ref) return;
          const { expected: _e, size: _s, ...rest } = current;
          tx.putJson(k, rest);
        });
      } catch (err) {
        await w.close();
        throw err;
      }
      return w;
    });
    this.#shared = undefined;
    this.#writer = w;
    return w;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#check("write");
    if (this.#writer === undefined) {
      if (chunk.byteLength === 0) return;
      await this.#unshare(this.#shared?.size ?? 0);
    }
    await this.#writer!.write(chunk);
  }

  digest(): Digest {
    if (this.#writer !== undefined) return this.#writer.digest();
    return this.#shared!.digest;
  }

  async status(): Promise<IngestStatus> {
    this.#check("status");
    if (this.#writer !== undefined) return { ...(await this.#writer.status()), ref: this.ref };
    const s = this.#shared!;
    return { ref: this.ref, offset: s.size, total: s.size, expected: s.digest, startedAt: s.startedAt, updatedAt: s.startedAt };
  }

  async truncate(size: number): Promise<void> {
    this.#check("truncate");
    if (size !== 0) throw new InvalidArgumentError(`truncate to ${size}: only 0 is supported`);
    if (this.#writer === undefined) {
      await this.#unshare(0);
      return;
    }
    await this.#writer.truncate(0);
  }

  async commit(size: number, expected?: Digest, options: CommitOptions = {}): Promise<void> {
    this.#check("commit");
    const { db, ctx, ns } = this.#init;
    const labels = cleanLabels(options.labels);
    try {
      validateLabels(labels);
    } catch (err) {
      await this.close();
      throw err;
    }
    const want = expected === undefined || expected === "" ? undefined : expected;
    this.#done = true;
    await this.#init.locked(async () => {
      let actual: Digest;
      let actualSize: number;
      const w = this.#writer;
      if (w === undefined) {
        const s = this.#shared!;
        if (size !== 0 && size !== s.size) {
          throw new FailedPreconditionError(`unexpected commit size ${s.size}, expected ${size}`);
        }
        if (want !== undefined && want !== s.digest) {
          throw new FailedPreconditionError(`unexpected commit digest ${s.digest}, expected ${want}`);
        }
        actual = s.digest;
        actualSize = s.size;
      } else {
        actualSize = w.offset;
        try {
          await w.commit(size, want);
        } catch (err) {
          // Already on disk (another namespace, or a blob of this one): link it here.
          if (!isAlreadyExists(err)) throw err;
        }
        actual = w.digest();
      }
      let exists = false;
      await db.update(async (tx) => {
        const k = keys.blob(ns, actual);
        if ((await tx.get(k)) !== undefined) {
          exists = true;
        } else {
          await tx.ensureNamespace(ns);
          const now = new Date().toISOString();
          tx.putJson(k, { size: actualSize, createdAt: now, updatedAt: now, labels } satisfies BlobRecord);
        }
        await removeIngest(tx, ns, this.ref, this.#init.record.ref);
        await removeLeaseResource(tx, ctx, ns, ["ingests", this.ref]);
        await addLeaseResource(tx, ctx, ns, ["content", actual]);
      });
      if (exists) throw new AlreadyExistsError(`content ${actual}`);
    });
  }

  async close(): Promise<void> {
    this.#done = true;
    const w = this.#writer;
    if (w !== undefined) await w.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Deletes the ingest record of `ref` if it still stands for `backendRef`. */
async function removeIngest(tx: WriteTx, ns: string, ref: string, backendRef: string): Promise<void> {
  const k = keys.ingest(ns, ref);
  const current = await tx.getJson<IngestRecord>(k);
  if (current !== undefined && current.ref === backendRef) tx.del(k);
}
