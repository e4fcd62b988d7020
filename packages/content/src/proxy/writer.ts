/**
 * The proxy's writer: one `Content.Write` stream per writer, driven the way containerd's Go client
 * drives it (`content/proxy/content_writer.go`): a STAT with ref, total and expected opens it, each
 * `write` is a WRITE at the client's offset, `commit` is a COMMIT, and `close` half-closes the stream.
 * Every request waits for its one response.
 */
import { WriteAction, type WriteContentRequest, type WriteContentResponse } from "@containerts/api/services/content/v1";
import { FailedPreconditionError, InvalidArgumentError, UnknownError, type ContainertsError } from "@containerts/errdefs";
import { fromGrpcError } from "@containerts/errdefs/grpc";
import type { ClientDuplexStream } from "@grpc/grpc-js";

import { maxChunkSize, type CommitOptions, type ContentWriter, type IngestStatus } from "../content.js";
import { emptyDigest, type Digest } from "../digest.js";
import { dateFromProto, numberFromProto } from "../grpc/convert.js";

interface Waiter {
  resolve(res: WriteContentResponse): void;
  reject(err: unknown): void;
}

/** One Write stream: requests go out in order, each resolved by the next response. */
export class WriteSession {
  readonly #call: ClientDuplexStream<WriteContentRequest, WriteContentResponse>;
  readonly #waiters: Waiter[] = [];
  #error: ContainertsError | undefined;
  #ended = false;
  readonly #done: Promise<void>;
  readonly #detach: () => void;

  constructor(call: ClientDuplexStream<WriteContentRequest, WriteContentResponse>, signal: AbortSignal) {
    this.#call = call;
    call.on("data", (res: WriteContentResponse) => {
      // containerd's server sends its last response twice; a response nobody waits for is dropped.
      this.#waiters.shift()?.resolve(res);
    });
    call.on("error", (err: unknown) => this.#fail(fromGrpcError(err)));
    this.#done = new Promise<void>((resolve) => {
      call.on("status", () => {
        this.#ended = true;
        this.#fail(new UnknownError("write stream ended before responding", { bare: true }));
        resolve();
      });
    });
    const onAbort = () => call.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#detach = () => signal.removeEventListener("abort", onAbort);
    void this.#done.finally(this.#detach);
  }

  #fail(err: ContainertsError): void {
    this.#error ??= err;
    for (const w of this.#waiters.splice(0)) w.reject(this.#error);
  }

  /** Sends one request and resolves with its response. */
  send(req: Partial<WriteContentRequest>): Promise<WriteContentResponse> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise<WriteContentResponse>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#call.write({
        action: WriteAction.STAT,
        ref: "",
        total: 0n,
        expected: "",
        offset: 0n,
        data: empty,
        labels: {},
        ...req,
      });
    });
  }

  /** Half-closes the stream and waits until the server has finished with it. */
  async close(): Promise<void> {
    if (!this.#ended) {
      this.#call.end();
      await this.#done;
    }
  }

  /** Cancels the stream (used when opening fails). */
  cancel(): void {
    this.#call.cancel();
  }
}

const empty = Buffer.alloc(0);

/** What the writer knows after the opening STAT. */
export interface ProxyWriterInit {
  readonly ref: string;
  readonly session: WriteSession;
  readonly opened: WriteContentResponse;
}

/** A {@link ContentWriter} over one Write stream. */
export class ProxyWriter implements ContentWriter {
  readonly ref: string;
  readonly #session: WriteSession;
  #offset: number;
  #digest: Digest;
  #closed = false;

  constructor(init: ProxyWriterInit) {
    this.ref = init.ref;
    this.#session = init.session;
    this.#offset = numberFromProto(init.opened.offset, "offset");
    this.#digest = init.opened.digest === "" ? emptyDigest : init.opened.digest;
  }

  get offset(): number {
    return this.#offset;
  }

  #check(op: string): void {
    if (this.#closed) throw new FailedPreconditionError(`cannot ${op} on closed writer for ref ${this.ref}`);
  }

  async #send(req: Partial<WriteContentRequest>): Promise<WriteContentResponse> {
    const res = await this.#session.send(req);
    if (res.digest !== "") this.#digest = res.digest;
    return res;
  }

  /** Appends `chunk` (sent in pieces of at most 1 MiB, each acknowledged before the next). */
  async write(chunk: Uint8Array): Promise<void> {
    this.#check("write");
    for (let at = 0; at < chunk.byteLength; at += maxChunkSize) {
      const piece = chunk.subarray(at, Math.min(chunk.byteLength, at + maxChunkSize));
      const offset = this.#offset;
      const res = await this.#send({
        action: WriteAction.WRITE,
        offset: BigInt(offset),
        data: Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength),
      });
      const n = numberFromProto(res.offset, "offset") - offset;
      if (n < piece.byteLength) throw new UnknownError(`short write: ${n} of ${piece.byteLength} bytes`, { bare: true });
      this.#offset = offset + n;
    }
  }

  digest(): Digest {
    return this.#digest;
  }

  async status(): Promise<IngestStatus> {
    this.#check("get status");
    const res = await this.#send({ action: WriteAction.STAT });
    return {
      ref: this.ref,
      offset: numberFromProto(res.offset, "offset"),
      total: numberFromProto(res.total, "total"),
      startedAt: dateFromProto(res.startedAt),
      updatedAt: dateFromProto(res.updatedAt),
    };
  }

  /** Restarts the ingest; only 0 is supported. Client-side: the next write (at offset 0) truncates on the server. */
  async truncate(size: number): Promise<void> {
    this.#check("truncate");
    if (size !== 0) throw new InvalidArgumentError(`truncate to ${size}: only 0 is supported`);
    this.#offset = 0;
    this.#digest = emptyDigest;
  }

  async commit(size: number, expected?: Digest, options: CommitOptions = {}): Promise<void> {
    this.#check("commit");
    try {
      const res = await this.#send({
        action: WriteAction.COMMIT,
        total: BigInt(size),
        offset: BigInt(this.#offset),
        expected: expected ?? "",
        labels: { ...(options.labels ?? {}) },
      });
      const committed = numberFromProto(res.offset, "offset");
      if (size !== 0 && committed !== size) {
        throw new FailedPreconditionError(`unexpected commit size ${committed}, expected ${size}`);
      }
      if (expected !== undefined && expected !== "" && res.digest !== expected) {
        throw new FailedPreconditionError(`unexpected commit digest ${res.digest}, expected ${expected}`);
      }
      this.#offset = committed;
    } finally {
      await this.close();
    }
  }

  /** Half-closes the stream and waits for the server to release the ref (the ingest stays resumable). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#session.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
