/**
 * The content store's interfaces and domain types: the contract every implementation (the local
 * store, the metadata-wrapped namespaced store, the gRPC proxy) satisfies, mirroring containerd's
 * `content` package (`content/content.go`).
 *
 * Lifecycle of a blob: a caller opens a {@link ContentWriter} for a `ref` (an ingest), appends bytes,
 * and commits with the expected size and digest; the store verifies both and publishes the blob
 * atomically under its digest. From then on the blob is immutable: it can be read, inspected,
 * labelled, walked and deleted. An ingest that is not committed survives `close()` and can be resumed
 * by opening a writer for the same ref, inspected with `status`/`listStatuses`, or dropped with `abort`.
 *
 * Error kinds are those of `@containerts/errdefs`; each method below names the ones it throws.
 */
import type { Context } from "@containerts/namespaces";

import type { Digest } from "./digest.js";

/** A platform an OCI descriptor targets (OCI image-spec `platform`). */
export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly osVersion?: string;
  readonly osFeatures?: readonly string[];
  readonly variant?: string;
}

/** An OCI content descriptor: what a blob is (media type), which (digest) and how big (size). */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
}

/** Metadata about a committed blob (containerd's `content.Info`). */
export interface ContentInfo {
  readonly digest: Digest;
  /** Size in bytes. */
  readonly size: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Labels; an empty object when there are none (never undefined). */
  readonly labels: Readonly<Record<string, string>>;
}

/** The state of an ingest, an in-progress write identified by its ref (containerd's `content.Status`). */
export interface IngestStatus {
  /** The ref the writer was opened with. */
  readonly ref: string;
  /** Bytes written so far. */
  readonly offset: number;
  /** The expected total size, 0 when unknown. */
  readonly total: number;
  /** The digest the writer was opened with, when known (containerd 1.6 never fills it over the wire). */
  readonly expected?: Digest;
  readonly startedAt: Date;
  readonly updatedAt: Date;
}

/** Options of {@link Ingester.writer}. */
export interface WriterOptions {
  /** The ingest key. Any non-empty string (refs are not identifier-validated). */
  readonly ref: string;
  /** Expected size in bytes; 0 or absent when unknown. */
  readonly total?: number;
  /** Expected digest; when set and already committed, opening fails with AlreadyExists. */
  readonly expected?: Digest;
}

/** Options of {@link ContentWriter.commit}. */
export interface CommitOptions {
  /** Labels of the committed blob (validated: key + value ≤ 4096 bytes; empty values are dropped). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Options of {@link Provider.read}. */
export interface ReadOptions {
  /** First byte to read; negative is treated as 0. */
  readonly offset?: number;
  /** Maximum number of bytes; 0, negative or absent reads to the end. */
  readonly size?: number;
  /** Aborts the read (in addition to `ctx.signal`). */
  readonly signal?: AbortSignal;
}

/** The largest chunk {@link Provider.read} yields, and the chunk size of containerd's Read and Write streams. */
export const maxChunkSize = 1024 * 1024;

/** Random-access reader of one blob (containerd's `content.ReaderAt`). */
export interface ReaderAt extends AsyncDisposable {
  /** Size of the blob in bytes. */
  readonly size: number;
  /**
   * Reads up to `length` bytes (default: to the end of `buffer`) from `position` into `buffer`
   * and resolves to the number of bytes read, which is less than requested only at the end of the
   * blob (0 at or past the end).
   */
  readAt(buffer: Uint8Array, position: number, length?: number): Promise<number>;
  /** Releases the reader; calling it again does nothing. */
  close(): Promise<void>;
}

/**
 * Writes one blob into the store through an ingest (containerd's `content.Writer`).
 *
 * A writer holds the lock on its ref until it is committed, closed or disposed. Bytes are appended at
 * {@link ContentWriter.offset}; `close()` keeps the ingest so another writer can resume it.
 * A writer's methods are not safe to call concurrently: await each call before the next.
 */
export interface ContentWriter extends AsyncDisposable {
  /** The ref of the ingest. */
  readonly ref: string;
  /** Bytes written so far (the offset the next `write` appends at). */
  readonly offset: number;
  /**
   * Appends `chunk` at the current offset.
   * @throws FailedPreconditionError when the writer is closed or committed.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** The digest of the bytes written so far (sha256 unless the store says otherwise). */
  digest(): Digest;
  /**
   * The ingest's current status.
   * @throws FailedPreconditionError when the writer is closed or committed.
   */
  status(): Promise<IngestStatus>;
  /**
   * Truncates the ingest to `size` bytes. Only `0` (restart) is supported, as upstream.
   * @throws InvalidArgumentError for any other size (NotImplemented in stores that say so).
   */
  truncate(size: number): Promise<void>;
  /**
   * Verifies and publishes the blob, then releases the ref and removes the ingest.
   *
   * `size` 0 and `expected` undefined/empty mean "not checked". The writer is closed afterwards in
   * every case (the ingest itself is kept on failure, so a new writer can resume it).
   *
   * @throws FailedPreconditionError `unexpected commit size <n>, expected <m>` or
   *   `unexpected commit digest <d>, expected <e>`; nothing is published and the ingest is kept.
   * @throws AlreadyExistsError `content <d>` when the blob exists already; the ingest is removed and
   *   callers treat this as success.
   * @throws InvalidArgumentError for invalid labels.
   */
  commit(size: number, expected?: Digest, options?: CommitOptions): Promise<void>;
  /** Releases the ref lock without removing the ingest (resumable). Calling it again does nothing. */
  close(): Promise<void>;
}

/** Reads committed blobs (containerd's `content.Provider`). */
export interface Provider {
  /**
   * Opens a random-access reader; only `desc.digest` is required.
   * @throws NotFoundError `content digest <d>` when the blob is absent (or not visible in the namespace).
   */
  readerAt(ctx: Context, desc: Pick<Descriptor, "digest"> & Partial<Descriptor>): Promise<ReaderAt>;
  /**
   * Streams a blob, or the range `[offset, offset + size)` of it, in chunks of at most
   * {@link maxChunkSize} bytes. Errors are raised by the first iteration.
   * `offset === size of blob` yields nothing.
   * @throws NotFoundError `content digest <d>` when absent.
   * @throws OutOfRangeError `read past object length <n> bytes` when `offset` exceeds the blob size.
   * @throws CanceledError when `ctx.signal` or `options.signal` aborts.
   */
  read(ctx: Context, dgst: Digest, options?: ReadOptions): AsyncIterable<Uint8Array>;
}

/** Opens writers (containerd's `content.Ingester`). */
export interface Ingester {
  /**
   * Opens (or resumes) the ingest `options.ref` and locks it for the returned writer.
   *
   * An existing ingest is resumed at the length of its stored data (its hash recomputed); if
   * `options.total` is set and differs from the stored total, the ingest restarts at 0.
   *
   * @throws InvalidArgumentError when `ref` is empty or `expected` is not a valid digest.
   * @throws AlreadyExistsError `content <d>` when `options.expected` is already committed.
   * @throws UnavailableError `ref <ref> locked for <duration> (since <time>)` when another writer
   *   holds the ref after a short bounded retry (callers retry with backoff).
   */
  writer(ctx: Context, options: WriterOptions): Promise<ContentWriter>;
}

/** Inspects and cancels ingests (containerd's `content.IngestManager`). */
export interface IngestManager {
  /**
   * The status of the ingest `ref`.
   * @throws NotFoundError `reference <ref>` when there is no such ingest.
   */
  status(ctx: Context, ref: string): Promise<IngestStatus>;
  /**
   * Statuses of all ingests matching any of `filters` (containerd filter syntax, field `ref`);
   * no filters or `[""]` list all.
   * @throws InvalidArgumentError when a filter does not parse.
   */
  listStatuses(ctx: Context, filters?: readonly string[]): Promise<IngestStatus[]>;
  /**
   * Cancels the ingest `ref` and removes its data.
   * @throws NotFoundError `reference <ref>` when there is no such ingest.
   */
  abort(ctx: Context, ref: string): Promise<void>;
}

/** Callback of {@link Manager.walk}; a thrown error stops the walk and is rethrown by `walk`. */
export type WalkFn = (info: ContentInfo) => void | Promise<void>;

/** Inspects, labels, lists and removes committed blobs (containerd's `content.Manager`). */
export interface Manager {
  /**
   * Metadata of a committed blob.
   * @throws NotFoundError `content digest <d>` when absent.
   */
  info(ctx: Context, dgst: Digest): Promise<ContentInfo>;
  /**
   * Updates the mutable fields of `info.digest` and returns the full result with `updatedAt` = now.
   * Mutable: `labels` (replace all) and `labels.<key>` (set or, with an empty/absent value, unset).
   * Without `fieldpaths` the labels are replaced.
   * @throws NotFoundError `content digest <d>` when absent.
   * @throws InvalidArgumentError `cannot update "<p>" field on content info "<d>"` for another path,
   *   or for invalid labels.
   * @throws NotImplementedError in stores without label storage.
   */
  update(ctx: Context, info: Pick<ContentInfo, "digest"> & Partial<ContentInfo>, fieldpaths?: readonly string[]): Promise<ContentInfo>;
  /**
   * Calls `fn` for each blob matching any of `filters` (fields `digest`, `size`, `labels.<k>`);
   * no filters or `[""]` walk all.
   * @throws InvalidArgumentError when a filter does not parse; whatever `fn` throws.
   */
  walk(ctx: Context, fn: WalkFn, filters?: readonly string[]): Promise<void>;
  /**
   * Removes a committed blob.
   * @throws NotFoundError `content digest <d>` when absent.
   */
  delete(ctx: Context, dgst: Digest): Promise<void>;
}

/**
 * A complete content store (containerd's `content.Store`). Implementations: `LocalContentStore`
 * (`@containerts/content/local`, not namespaced), the metadata store's namespaced wrapper, and the
 * gRPC proxy.
 */
export type ContentStore = Provider & Ingester & IngestManager & Manager;

/**
 * Anything that can hand out a content store: the narrow shape the content service plugin needs
 * from the metadata plugin (`@containerts/metadata`'s DB satisfies it structurally).
 */
export interface ContentStoreSource {
  /** The (namespaced) content store. */
  contentStore(): ContentStore;
}
