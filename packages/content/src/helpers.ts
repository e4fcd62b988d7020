/**
 * Pure helpers over the content interfaces (containerd's `content/helpers.go`): open a writer with
 * retry, copy a source into a writer and commit it, write and read whole blobs.
 */
import { isAlreadyExists, isUnavailable } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";

import type { CommitOptions, ContentWriter, Ingester, Provider, WriterOptions } from "./content.js";
import { digestOf, type Digest } from "./digest.js";
import { sleep, throwIfAborted } from "./internal/abort.js";

/** A blob's bytes: all in memory, or a stream of chunks. */
export type BlobSource = Uint8Array | AsyncIterable<Uint8Array>;

/** Options of {@link copy}. */
export interface CopyOptions extends CommitOptions {
  /** Expected size; 0 or absent when unknown (then not checked). */
  readonly size?: number;
  /** Expected digest; absent when unknown (then not checked). */
  readonly expected?: Digest;
}

/** Options of {@link writeBlob}. */
export interface WriteBlobOptions extends CommitOptions {
  /** Expected size; 0 or absent when unknown. */
  readonly total?: number;
  /** Expected digest; when already present the source is not read. */
  readonly expected?: Digest;
}

/**
 * Opens a writer like {@link Ingester.writer}, retrying with a growing random backoff (up to ~2 s
 * between attempts) while the ref is locked by another writer, until `ctx.signal` aborts.
 *
 * @throws whatever `writer` throws other than Unavailable (e.g. AlreadyExists).
 * @throws UnavailableError (the last lock error) when `ctx.signal` aborts while waiting.
 */
export async function openWriter(store: Ingester, ctx: Context, options: WriterOptions): Promise<ContentWriter> {
  let backoff = 16;
  for (;;) {
    try {
      return await store.writer(ctx, options);
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      try {
        await sleep(Math.floor(Math.random() * backoff), ctx.signal);
      } catch {
        throw err;
      }
      if (backoff < 2048) backoff *= 2;
    }
  }
}

/**
 * Writes `source` into `writer` from the writer's current offset and commits it, treating
 * AlreadyExists as success (containerd's `content.Copy`). The writer is not closed (commit closes it).
 *
 * Resuming: when the writer already holds `offset` bytes, an in-memory source is checked (the digest
 * of its first `offset` bytes must equal `writer.digest()`) and only the rest is written; a streamed
 * source, which cannot be re-read, restarts the ingest with `truncate(0)` and is written whole.
 *
 * @throws FailedPreconditionError from commit when size or digest do not match.
 * @throws CanceledError when `ctx.signal` aborts.
 */
export async function copy(ctx: Context, writer: ContentWriter, source: BlobSource, options: CopyOptions = {}): Promise<void> {
  const { size = 0, expected, labels } = options;
  throwIfAborted(ctx.signal);
  if (source instanceof Uint8Array) {
    let rest = source;
    const offset = writer.offset;
    if (offset > 0) {
      if (offset <= source.byteLength && digestOf(source.subarray(0, offset)) === writer.digest()) {
        rest = source.subarray(offset);
      } else {
        await writer.truncate(0);
      }
    }
    for (let i = 0; i < rest.byteLength; i += chunkSize) {
      throwIfAborted(ctx.signal);
      await writer.write(rest.subarray(i, Math.min(rest.byteLength, i + chunkSize)));
    }
  } else {
    if (writer.offset > 0) await writer.truncate(0);
    for await (const chunk of source) {
      throwIfAborted(ctx.signal);
      await writer.write(chunk);
    }
  }
  try {
    await writer.commit(size, expected, labels === undefined ? {} : { labels });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

/** Largest piece {@link copy} hands to `write` from an in-memory source. */
const chunkSize = 1024 * 1024;

/**
 * Writes a whole blob under `ref` (containerd's `content.WriteBlob`): opens a writer (retrying while
 * the ref is locked), copies `source` into it and commits it. A blob that exists already
 * (AlreadyExists at open or at commit) counts as success, and then the source may not be read.
 *
 * @throws FailedPreconditionError when the data does not match `total` / `expected`.
 */
export async function writeBlob(
  store: Ingester,
  ctx: Context,
  ref: string,
  source: BlobSource,
  options: WriteBlobOptions = {},
): Promise<void> {
  const { total, expected, labels } = options;
  let writer: ContentWriter;
  try {
    writer = await openWriter(store, ctx, {
      ref,
      ...(total === undefined ? {} : { total }),
      ...(expected === undefined ? {} : { expected }),
    });
  } catch (err) {
    if (isAlreadyExists(err)) return;
    throw err;
  }
  try {
    await copy(ctx, writer, source, {
      ...(total === undefined ? {} : { size: total }),
      ...(expected === undefined ? {} : { expected }),
      ...(labels === undefined ? {} : { labels }),
    });
  } finally {
    await writer.close();
  }
}

/**
 * Reads a whole blob into memory (containerd's `content.ReadBlob`). Meant for manifests, configs
 * and other small blobs, not layers.
 * @throws NotFoundError when the blob is absent.
 */
export async function readBlob(store: Provider, ctx: Context, dgst: Digest): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of store.read(ctx, dgst)) {
    chunks.push(chunk);
    length += chunk.byteLength;
  }
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
