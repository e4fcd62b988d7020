/**
 * The local content store: blobs in a directory, in containerd's on-disk layout.
 *
 * ```
 * <root>/
 *   blobs/<alg>/<hex>            committed blobs, read-only (0444), mtime = commit time
 *   ingest/<sha256(ref) hex>/    one directory per ingest (in-progress write)
 *     ref                        the ref, verbatim
 *     data                       the bytes written so far
 *     startedat  updatedat       RFC 3339 timestamps
 *     total                      expected size (absent when unknown)
 * ```
 *
 * The store is not namespaced: `@containerts/metadata` wraps it with namespaces, leases and GC.
 * Labels and `updatedAt` changes are kept in memory only (like upstream's local store with a memory
 * label store): they are lost when the process exits. Use the metadata store for durable labels.
 *
 * Crash safety: a blob appears under `blobs/` only through `link(2)` (or `rename(2)`) of a fully
 * written, fsynced and verified data file, followed by an fsync of the directory, so a crash never
 * leaves a partial blob. An ingest left by a crash is resumable (its data is re-hashed on open) or,
 * when its files are incomplete, removed by {@link LocalContentStore.open}.
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { chmod, mkdir, open, readdir, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  withContext,
} from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { applyLabelPaths, cleanLabels, parseFilters, validateLabels } from "@containerts/namespaces";

import {
  maxChunkSize,
  type ContentInfo,
  type ContentStore,
  type ContentWriter,
  type Descriptor,
  type IngestStatus,
  type ReadOptions,
  type ReaderAt,
  type WalkFn,
  type WriterOptions,
} from "../content.js";
import { digestAlgorithms, isDigest, parseDigest, type Digest } from "../digest.js";
import { throwIfAborted } from "../internal/abort.js";
import { contentInfoAdaptor, ingestStatusAdaptor } from "../adaptor.js";
import { errnoCode, formatTimestamp, isENOENT, parseTimestamp, readText, syncDir, tempSuffix, writeFileAtomic } from "./files.js";
import { RefLocks } from "./locks.js";
import { LocalWriter, type WriterHost, type WriterInit } from "./writer.js";

/** Ranges up to this size are read synchronously (see `#readSmall`). */
const SMALL_READ = 64 * 1024;

/** Options of {@link LocalContentStore.open}. */
export interface LocalContentStoreOptions {
  /**
   * Remove leftovers of a crash when opening: temporary files and ingest directories whose files
   * are incomplete. Default true.
   */
  readonly cleanup?: boolean;
}

interface ResolvedOptions {
  readonly cleanup: boolean;
}

function resolveLocalContentStoreOptions(options: LocalContentStoreOptions): ResolvedOptions {
  return { cleanup: options.cleanup ?? true };
}

/** In-memory metadata of a committed blob. */
interface BlobMeta {
  labels: Readonly<Record<string, string>>;
  updatedAt?: Date;
}

/** Size of the buffer used to re-hash an ingest's data when resuming it. */
const rehashBufferSize = 1024 * 1024;

/** A content store over a local directory (containerd's `content/local`). Not namespaced. */
export class LocalContentStore implements ContentStore {
  /** The root directory. */
  readonly root: string;
  readonly #locks = new RefLocks();
  readonly #meta = new Map<Digest, BlobMeta>();
  readonly #blobDirs = new Set<string>();
  readonly #host: WriterHost;

  private constructor(root: string) {
    this.root = root;
    this.#host = {
      blobPath: (d) => this.#blobPath(d),
      ensureBlobDir: (dir) => this.#ensureBlobDir(dir),
      release: (ref) => this.#locks.release(ref),
      setLabels: (d, labels) => this.#setLabels(d, labels),
    };
  }

  /**
   * Opens (creating if needed) a store rooted at `root` and cleans up what a crash left behind.
   */
  static async open(root: string, options: LocalContentStoreOptions = {}): Promise<LocalContentStore> {
    const opts = resolveLocalContentStoreOptions(options);
    await mkdir(join(root, "ingest"), { recursive: true });
    await mkdir(join(root, "blobs"), { recursive: true });
    const store = new LocalContentStore(root);
    if (opts.cleanup) await store.#cleanup();
    return store;
  }

  // --- paths -------------------------------------------------------------------------------

  #blobPath(dgst: Digest): string {
    const { algorithm, encoded } = parseDigest(dgst);
    return join(this.root, "blobs", algorithm, encoded);
  }

  #ingestDir(ref: string): string {
    return join(this.root, "ingest", createHash("sha256").update(ref).digest("hex"));
  }

  async #ensureBlobDir(dir: string): Promise<void> {
    if (this.#blobDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    await syncDir(join(this.root, "blobs"));
    this.#blobDirs.add(dir);
  }

  #setLabels(dgst: Digest, labels: Readonly<Record<string, string>>): void {
    this.#meta.set(dgst, { labels: cleanLabels(labels) });
  }

  // --- crash cleanup -----------------------------------------------------------------------

  async #cleanup(): Promise<void> {
    const ingestRoot = join(this.root, "ingest");
    for (const entry of await readdir(ingestRoot, { withFileTypes: true })) {
      const dir = join(ingestRoot, entry.name);
      if (!entry.isDirectory()) {
        await rm(dir, { force: true });
        continue;
      }
      const names = await readdir(dir);
      for (const name of names) {
        if (name.endsWith(tempSuffix)) await rm(join(dir, name), { force: true });
      }
      if (!(await this.#ingestUsable(dir))) await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * An ingest directory is usable when it has its `ref` and `data` files and the data file is not
   * already published (a crash between publishing a blob and removing its ingest leaves the data
   * file hard-linked into `blobs/`).
   */
  async #ingestUsable(dir: string): Promise<boolean> {
    try {
      const [ref, data] = await Promise.all([stat(join(dir, "ref")), stat(join(dir, "data"))]);
      return ref.isFile() && data.isFile() && data.nlink === 1;
    } catch (err) {
      if (isENOENT(err)) return false;
      throw err;
    }
  }

  // --- Manager -----------------------------------------------------------------------------

  async info(ctx: Context, dgst: Digest): Promise<ContentInfo> {
    throwIfAborted(ctx.signal);
    const p = this.#blobPath(dgst);
    try {
      const st = await stat(p);
      return this.#info(dgst, st.size, st.mtime);
    } catch (err) {
      if (isENOENT(err)) throw new NotFoundError(`content digest ${dgst}`);
      throw err;
    }
  }

  #info(dgst: Digest, size: number, mtime: Date): ContentInfo {
    const meta = this.#meta.get(dgst);
    return {
      digest: dgst,
      size,
      createdAt: mtime,
      updatedAt: meta?.updatedAt ?? mtime,
      labels: { ...(meta?.labels ?? {}) },
    };
  }

  async update(
    ctx: Context,
    info: Pick<ContentInfo, "digest"> & Partial<ContentInfo>,
    fieldpaths?: readonly string[],
  ): Promise<ContentInfo> {
    const current = await this.info(ctx, info.digest);
    const labels = applyLabelPaths(current.labels, info.labels ?? {}, fieldpaths ?? [], {
      object: `content info ${JSON.stringify(info.digest)}`,
    });
    validateLabels(labels);
    const updatedAt = new Date();
    this.#meta.set(info.digest, { labels, updatedAt });
    return { ...current, labels: { ...labels }, updatedAt };
  }

  async walk(ctx: Context, fn: WalkFn, filters: readonly string[] = []): Promise<void> {
    const filter = parseFilters(filters);
    const blobs = join(this.root, "blobs");
    for (const alg of await readdir(blobs)) {
      if (!Object.hasOwn(digestAlgorithms, alg)) continue;
      let names: string[];
      try {
        names = await readdir(join(blobs, alg));
      } catch (err) {
        if (isENOENT(err)) continue;
        throw err;
      }
      for (const name of names) {
        throwIfAborted(ctx.signal);
        const dgst = `${alg}:${name}`;
        if (name.endsWith(tempSuffix) || !isDigest(dgst)) continue;
        let st;
        try {
          st = await stat(join(blobs, alg, name));
        } catch (err) {
          if (isENOENT(err)) continue; // deleted meanwhile
          throw err;
        }
        if (!st.isFile()) continue;
        const info = this.#info(dgst, st.size, st.mtime);
        if (!filter.match(contentInfoAdaptor(info))) continue;
        await fn(info);
      }
    }
  }

  async delete(ctx: Context, dgst: Digest): Promise<void> {
    throwIfAborted(ctx.signal);
    try {
      await unlink(this.#blobPath(dgst));
    } catch (err) {
      if (isENOENT(err)) throw new NotFoundError(`content digest ${dgst}`);
      throw err;
    }
    this.#meta.delete(dgst);
  }

  // --- Provider ----------------------------------------------------------------------------

  async #openBlob(dgst: Digest): Promise<{ handle: FileHandle; size: number }> {
    const p = this.#blobPath(dgst);
    let handle: FileHandle;
    try {
      handle = await open(p, "r");
    } catch (err) {
      if (isENOENT(err)) throw new NotFoundError(`content digest ${dgst}`);
      throw err;
    }
    try {
      const st = await handle.stat();
      return { handle, size: st.size };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async readerAt(ctx: Context, desc: Pick<Descriptor, "digest"> & Partial<Descriptor>): Promise<ReaderAt> {
    throwIfAborted(ctx.signal);
    const { handle, size } = await this.#openBlob(desc.digest);
    return new FileReaderAt(handle, size);
  }

  /**
   * Reads a range of at most {@link SMALL_READ} bytes synchronously (manifests, indexes, configs: the
   * reads clients make most): open, fstat, read and close of a cached file take microseconds, where each
   * asynchronous step is a thread-pool round trip. Returns undefined, reading nothing, for a larger range.
   */
  #readSmall(dgst: Digest, offset: number, want: number): Buffer | undefined {
    let fd: number;
    try {
      fd = openSync(this.#blobPath(dgst), "r");
    } catch (err) {
      if (isENOENT(err)) throw new NotFoundError(`content digest ${dgst}`);
      throw err;
    }
    try {
      const size = fstatSync(fd).size;
      if (offset > size) throw new OutOfRangeError(`read past object length ${size} bytes`);
      const end = want <= 0 ? size : Math.min(size, offset + want);
      if (end - offset > SMALL_READ) return undefined;
      const buffer = Buffer.allocUnsafe(end - offset);
      let n = 0;
      while (n < buffer.byteLength) {
        const r = readSync(fd, buffer, n, buffer.byteLength - n, offset + n);
        if (r === 0) break; // the file shrank: cannot happen to a committed blob
        n += r;
      }
      return n === buffer.byteLength ? buffer : buffer.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  }

  async *read(ctx: Context, dgst: Digest, options: ReadOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
    throwIfAborted(ctx.signal, options.signal);
    const small = this.#readSmall(dgst, Math.max(0, options.offset ?? 0), options.size ?? 0);
    if (small !== undefined) {
      if (small.byteLength > 0) yield small;
      return;
    }
    const { handle, size } = await this.#openBlob(dgst);
    try {
      const offset = Math.max(0, options.offset ?? 0);
      if (offset > size) throw new OutOfRangeError(`read past object length ${size} bytes`);
      const want = options.size ?? 0;
      const end = want <= 0 ? size : Math.min(size, offset + want);
      let position = offset;
      while (position < end) {
        throwIfAborted(ctx.signal, options.signal);
        const buffer = Buffer.allocUnsafe(Math.min(maxChunkSize, end - position));
        const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, position);
        if (bytesRead === 0) break; // the file shrank: cannot happen to a committed blob
        position += bytesRead;
        yield bytesRead === buffer.byteLength ? buffer : buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  // --- Ingester ----------------------------------------------------------------------------

  async writer(ctx: Context, options: WriterOptions): Promise<ContentWriter> {
    const { ref } = options;
    if (ref === "") throw new InvalidArgumentError("ref must not be empty");
    const expected = options.expected === undefined || options.expected === "" ? undefined : options.expected;
    if (expected !== undefined) parseDigest(expected);
    const total = Math.max(0, options.total ?? 0);
    throwIfAborted(ctx.signal);

    await this.#locks.acquire(ref, ctx.signal);
    try {
      if (expected !== undefined && (await exists(this.#blobPath(expected)))) {
        throw new AlreadyExistsError(`content ${expected}`);
      }
      return await this.#openWriter(ref, total, expected);
    } catch (err) {
      this.#locks.release(ref);
      throw err;
    }
  }

  async #openWriter(ref: string, total: number, expected: Digest | undefined): Promise<LocalWriter> {
    const dir = this.#ingestDir(ref);
    const data = join(dir, "data");
    const resumed = await this.#resume(dir, ref, total);
    if (resumed !== undefined) {
      return new LocalWriter(this.#host, { ...resumed, ref, dir, expected });
    }
    // Fresh ingest: status files first, data last, so a directory with a data file is complete.
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const now = new Date();
    await writeFile(join(dir, "startedat"), formatTimestamp(now));
    await writeFile(join(dir, "updatedat"), formatTimestamp(now));
    if (total > 0) await writeFile(join(dir, "total"), String(total));
    await writeFileAtomic(join(dir, "ref"), ref);
    const handle = await open(data, "w", 0o644);
    return new LocalWriter(this.#host, {
      ref,
      dir,
      handle,
      hash: createHash("sha256"),
      offset: 0,
      total,
      expected,
      startedAt: now,
      updatedAt: now,
    });
  }

  /**
   * Reopens an existing ingest for `ref`: re-hashes its data and restores its status. Returns
   * undefined when there is nothing usable to resume (missing, torn, published, or a different
   * total was requested), in which case the caller starts afresh.
   */
  async #resume(
    dir: string,
    ref: string,
    total: number,
  ): Promise<Omit<WriterInit, "ref" | "dir" | "expected"> | undefined> {
    if (!(await this.#ingestUsable(dir))) return undefined;
    const status = await this.#readStatus(dir).catch(() => undefined);
    if (status === undefined || status.ref !== ref) return undefined;
    if (total > 0 && status.total > 0 && total !== status.total) return undefined;
    let handle: FileHandle;
    try {
      handle = await open(join(dir, "data"), "r+");
    } catch (err) {
      if (errnoCode(err) !== "EACCES") throw err;
      await chmod(join(dir, "data"), 0o644);
      handle = await open(join(dir, "data"), "r+");
    }
    try {
      const st = await handle.stat();
      if (st.nlink !== 1) {
        await handle.close();
        return undefined;
      }
      const hash = createHash("sha256");
      const buffer = Buffer.allocUnsafe(rehashBufferSize);
      let offset = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, offset);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        offset += bytesRead;
      }
      let resumedTotal = status.total;
      if (resumedTotal === 0 && total > 0) {
        await writeFileAtomic(join(dir, "total"), String(total));
        resumedTotal = total;
      }
      return {
        handle,
        hash,
        offset,
        total: resumedTotal,
        startedAt: status.startedAt,
        updatedAt: status.updatedAt,
      };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  // --- IngestManager -----------------------------------------------------------------------

  /** Reads an ingest's status from disk; throws NotFound (from ENOENT) when it is gone. */
  async #readStatus(dir: string): Promise<IngestStatus> {
    const [data, ref, startedText, updatedText, totalText] = await Promise.all([
      stat(join(dir, "data")),
      readText(join(dir, "ref")),
      readText(join(dir, "startedat")).catch(() => ""),
      readText(join(dir, "updatedat")).catch(() => ""),
      readText(join(dir, "total")).catch(() => ""),
    ]);
    const startedAt = parseTimestamp(startedText) ?? data.birthtime;
    let updatedAt = parseTimestamp(updatedText) ?? startedAt;
    // updatedat is only rewritten on close; the data file's mtime may be newer.
    if (data.mtime > updatedAt) updatedAt = data.mtime;
    const total = Number.parseInt(totalText, 10);
    return {
      ref,
      offset: data.size,
      total: Number.isSafeInteger(total) && total > 0 ? total : 0,
      startedAt,
      updatedAt,
    };
  }

  async status(ctx: Context, ref: string): Promise<IngestStatus> {
    throwIfAborted(ctx.signal);
    const dir = this.#ingestDir(ref);
    try {
      if (!(await this.#ingestUsable(dir))) throw new NotFoundError(`reference ${ref}`);
      const status = await this.#readStatus(dir);
      if (status.ref !== ref) throw new NotFoundError(`reference ${ref}`);
      return status;
    } catch (err) {
      if (isENOENT(err)) throw new NotFoundError(`reference ${ref}`);
      throw err;
    }
  }

  async listStatuses(ctx: Context, filters: readonly string[] = []): Promise<IngestStatus[]> {
    throwIfAborted(ctx.signal);
    const filter = parseFilters(filters);
    const ingestRoot = join(this.root, "ingest");
    const out: IngestStatus[] = [];
    for (const name of await readdir(ingestRoot)) {
      const dir = join(ingestRoot, name);
      let status: IngestStatus;
      try {
        if (!(await this.#ingestUsable(dir))) continue; // being created, committed or aborted
        status = await this.#readStatus(dir);
      } catch (err) {
        if (isENOENT(err) || errnoCode(err) === "ENOTDIR") continue;
        throw err;
      }
      if (filter.match(ingestStatusAdaptor(status))) out.push(status);
    }
    return out;
  }

  async abort(ctx: Context, ref: string): Promise<void> {
    throwIfAborted(ctx.signal);
    const dir = this.#ingestDir(ref);
    if (!(await exists(dir))) throw new NotFoundError(`reference ${ref}`);
    try {
      await rm(dir, { recursive: true });
    } catch (err) {
      if (isENOENT(err)) throw new NotFoundError(`reference ${ref}`);
      throw withContext(err, `abort ${ref}`);
    }
  }
}

/** A {@link ReaderAt} over an open blob file. */
class FileReaderAt implements ReaderAt {
  readonly size: number;
  #handle: FileHandle | undefined;

  constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.size = size;
  }

  async readAt(buffer: Uint8Array, position: number, length = buffer.byteLength): Promise<number> {
    const handle = this.#handle;
    if (handle === undefined) throw new FailedPreconditionError("read on closed reader");
    if (position < 0) throw new InvalidArgumentError(`negative offset ${position}`);
    const want = Math.min(length, buffer.byteLength, Math.max(0, this.size - position));
    let n = 0;
    while (n < want) {
      const { bytesRead } = await handle.read(buffer, n, want - n, position + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return n;
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if (isENOENT(err)) return false;
    throw err;
  }
}
