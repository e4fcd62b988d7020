/** The local store's writer: appends to `ingest/<key>/data`, hashes as it goes, publishes on commit. */
import { createHash, type Hash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { link, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";

import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  withContext,
} from "@containerts/errdefs";
import { validateLabels } from "@containerts/namespaces";

import type { CommitOptions, ContentWriter, IngestStatus } from "../content.js";
import type { Digest } from "../digest.js";
import { errnoCode, formatTimestamp, syncDir, writeFileAtomic } from "./files.js";

/** What a writer needs from its store. */
export interface WriterHost {
  /** Path of the blob for a (valid) digest. */
  blobPath(dgst: Digest): string;
  /** Makes sure `blobs/<alg>` exists (and is durable). */
  ensureBlobDir(dir: string): Promise<void>;
  /** Releases the ref lock. */
  release(ref: string): void;
  /** Records labels of a newly committed blob. */
  setLabels(dgst: Digest, labels: Readonly<Record<string, string>>): void;
}

/** State of a writer at open, read from or written to the ingest directory. */
export interface WriterInit {
  readonly ref: string;
  /** The ingest directory. */
  readonly dir: string;
  readonly handle: FileHandle;
  readonly hash: Hash;
  readonly offset: number;
  readonly total: number;
  readonly expected: Digest | undefined;
  readonly startedAt: Date;
  readonly updatedAt: Date;
}

/** Mode of a published blob: read-only. */
const blobMode = 0o444;

/**
 * A writer of the local store. Holds the ref lock and an open handle on the ingest's data file
 * until commit or close; writes go to the page cache and are fsynced once, at commit.
 */
export class LocalWriter implements ContentWriter {
  readonly ref: string;
  readonly #host: WriterHost;
  readonly #dir: string;
  #handle: FileHandle | undefined;
  #hash: Hash;
  #offset: number;
  readonly #total: number;
  readonly #expected: Digest | undefined;
  readonly #startedAt: Date;
  #updatedAt: Date;
  /** The digest once committed (the hash is finalised then). */
  #final: Digest | undefined;

  constructor(host: WriterHost, init: WriterInit) {
    this.#host = host;
    this.ref = init.ref;
    this.#dir = init.dir;
    this.#handle = init.handle;
    this.#hash = init.hash;
    this.#offset = init.offset;
    this.#total = init.total;
    this.#expected = init.expected;
    this.#startedAt = init.startedAt;
    this.#updatedAt = init.updatedAt;
  }

  get offset(): number {
    return this.#offset;
  }

  #open(op: string): FileHandle {
    if (this.#handle === undefined) throw new FailedPreconditionError(`cannot ${op} on closed writer`);
    return this.#handle;
  }

  /** Appends `chunk`; the caller must not modify it until the returned promise settles. */
  async write(chunk: Uint8Array): Promise<void> {
    const handle = this.#open("write");
    if (chunk.byteLength === 0) return;
    const position = this.#offset;
    const written = handle.write(chunk, 0, chunk.byteLength, position);
    // Hash while the write is in flight on the thread pool.
    this.#hash.update(chunk);
    let { bytesWritten } = await written;
    while (bytesWritten < chunk.byteLength) {
      const r = await handle.write(chunk, bytesWritten, chunk.byteLength - bytesWritten, position + bytesWritten);
      bytesWritten += r.bytesWritten;
    }
    this.#offset = position + chunk.byteLength;
    this.#updatedAt = new Date();
  }

  digest(): Digest {
    return this.#final ?? `sha256:${this.#hash.copy().digest("hex")}`;
  }

  async status(): Promise<IngestStatus> {
    this.#open("get status");
    return {
      ref: this.ref,
      offset: this.#offset,
      total: this.#total,
      ...(this.#expected === undefined ? {} : { expected: this.#expected }),
      startedAt: this.#startedAt,
      updatedAt: this.#updatedAt,
    };
  }

  async truncate(size: number): Promise<void> {
    if (size !== 0) throw new InvalidArgumentError(`truncate to ${size}: only 0 is supported`);
    const handle = this.#open("truncate");
    await handle.truncate(0);
    this.#hash = createHash("sha256");
    this.#offset = 0;
    this.#updatedAt = new Date();
  }

  async commit(size: number, expected?: Digest, options: CommitOptions = {}): Promise<void> {
    const handle = this.#open("commit");
    this.#handle = undefined;
    let handleOpen = true;
    try {
      if (options.labels !== undefined) validateLabels(options.labels);
      await handle.datasync();
      if (size > 0 && size !== this.#offset) {
        throw new FailedPreconditionError(`unexpected commit size ${this.#offset}, expected ${size}`);
      }
      const dgst = this.digest();
      if (expected !== undefined && expected !== "" && expected !== dgst) {
        throw new FailedPreconditionError(`unexpected commit digest ${dgst}, expected ${expected}`);
      }
      // Verified: make the file read-only, stamp the commit time, then link it into blobs/.
      const now = new Date();
      await handle.chmod(blobMode);
      await handle.utimes(now, now);
      handleOpen = false;
      await handle.close();
      const target = this.#host.blobPath(dgst);
      await this.#host.ensureBlobDir(dirname(target));
      await this.#publish(join(this.#dir, "data"), target, dgst);
      this.#final = dgst;
      if (options.labels !== undefined) this.#host.setLabels(dgst, options.labels);
      await syncDir(dirname(target));
      await rm(this.#dir, { recursive: true, force: true });
    } catch (err) {
      if (handleOpen) await this.#closeHandle(handle);
      throw err;
    } finally {
      this.#host.release(this.ref);
    }
  }

  /**
   * Publishes the verified data file under `target` without ever replacing an existing blob:
   * `link` fails with EEXIST when the blob exists. Filesystems without hard links fall back to
   * an existence check and `rename`.
   */
  async #publish(data: string, target: string, dgst: Digest): Promise<void> {
    try {
      await link(data, target);
    } catch (err) {
      const code = errnoCode(err);
      if (code === "EEXIST") return this.#exists(dgst);
      if (code === "ENOENT") throw new NotFoundError(`reference ${this.ref}`, { cause: err });
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EMLINK") {
        throw withContext(err, `commit ${this.ref}`);
      }
      if (await stat(target).then(() => true, () => false)) return this.#exists(dgst);
      await rename(data, target);
    }
  }

  async #exists(dgst: Digest): Promise<never> {
    await rm(this.#dir, { recursive: true, force: true });
    throw new AlreadyExistsError(`content ${dgst}`);
  }

  async #closeHandle(handle: FileHandle): Promise<void> {
    await handle.close().catch(() => undefined);
    // Best effort: the ingest may have been aborted underneath us.
    await writeFileAtomic(join(this.#dir, "updatedat"), formatTimestamp(this.#updatedAt)).catch(() => undefined);
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    try {
      await this.#closeHandle(handle);
    } finally {
      this.#host.release(this.ref);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
