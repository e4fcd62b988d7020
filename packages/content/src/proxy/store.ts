/**
 * The content store over gRPC: {@link ContentStore} implemented with the `containerd.services.content.v1`
 * client, the counterpart of containerd's `content/proxy`. Works against containertsd and containerd.
 */
import type { ContentClient, WriteContentRequest, WriteContentResponse } from "@containerts/api/services/content/v1";
import { WriteAction } from "@containerts/api/services/content/v1";
import { CanceledError, InvalidArgumentError, normalize } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { callMetadata, callStream, callUnary } from "@containerts/namespaces/grpc";
import { makeGenericClientConstructor, type ChannelCredentials, type ClientDuplexStream, type ClientOptions } from "@grpc/grpc-js";

import type {
  ContentInfo,
  ContentStore,
  ContentWriter,
  Descriptor,
  IngestStatus,
  ReadOptions,
  ReaderAt,
  WalkFn,
  WriterOptions,
} from "../content.js";
import type { Digest } from "../digest.js";
import { contentServiceDefinition } from "../grpc/codec.js";
import { infoFromProto, statusFromProto, updateInfoToProto } from "../grpc/convert.js";
import { ProxyWriter, WriteSession } from "./writer.js";

/** Where a proxy connects: the address, credentials and client options (`channelOverride` shares a channel). */
export interface ProxyTarget {
  readonly address: string;
  readonly credentials: ChannelCredentials;
  readonly options: Partial<ClientOptions>;
}

/** The Content client class, built on the service definition with the copy-free data codecs. */
const ContentClientClass = makeGenericClientConstructor(
  contentServiceDefinition,
  "containerd.services.content.v1.Content",
) as unknown as new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>) => ContentClient;

function combine(ctx: Context, signal: AbortSignal | undefined): Context {
  return signal === undefined ? ctx : { ...ctx, signal: AbortSignal.any([ctx.signal, signal]) };
}

/**
 * A {@link ContentStore} over the daemon's Content service. Error kinds come back from the server as
 * the store interface documents them.
 */
export class ProxyContentStore implements ContentStore {
  readonly #c: ContentClient;

  constructor(target: ProxyTarget) {
    this.#c = new ContentClientClass(target.address, target.credentials, target.options);
  }

  async info(ctx: Context, dgst: Digest): Promise<ContentInfo> {
    const res = await callUnary(this.#c.info.bind(this.#c), { digest: dgst }, ctx);
    if (res.info === undefined) throw new InvalidArgumentError("info response without info");
    return infoFromProto(res.info);
  }

  async update(ctx: Context, info: Pick<ContentInfo, "digest"> & Partial<ContentInfo>, fieldpaths?: readonly string[]): Promise<ContentInfo> {
    const res = await callUnary(
      this.#c.update.bind(this.#c),
      { info: updateInfoToProto(info), updateMask: [...(fieldpaths ?? [])] },
      ctx,
    );
    if (res.info === undefined) throw new InvalidArgumentError("update response without info");
    return infoFromProto(res.info);
  }

  async walk(ctx: Context, fn: WalkFn, filters: readonly string[] = []): Promise<void> {
    for await (const msg of callStream(this.#c.list.bind(this.#c), { filters: [...filters] }, ctx)) {
      for (const info of msg.info) await fn(infoFromProto(info));
    }
  }

  async delete(ctx: Context, dgst: Digest): Promise<void> {
    await callUnary(this.#c.delete.bind(this.#c), { digest: dgst }, ctx);
  }

  async readerAt(ctx: Context, desc: Pick<Descriptor, "digest"> & Partial<Descriptor>): Promise<ReaderAt> {
    const info = await this.info(ctx, desc.digest);
    return new ProxyReaderAt(this, ctx, desc.digest, info.size);
  }

  async *read(ctx: Context, dgst: Digest, options: ReadOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
    const c = combine(ctx, options.signal);
    const req = { digest: dgst, offset: BigInt(options.offset ?? 0), size: BigInt(options.size ?? 0) };
    for await (const msg of callStream(this.#c.read.bind(this.#c), req, c)) {
      if (msg.data.byteLength > 0) yield msg.data;
    }
  }

  async status(ctx: Context, ref: string): Promise<IngestStatus> {
    const res = await callUnary(this.#c.status.bind(this.#c), { ref }, ctx);
    if (res.status === undefined) throw new InvalidArgumentError("status response without status");
    return statusFromProto(res.status);
  }

  async listStatuses(ctx: Context, filters: readonly string[] = []): Promise<IngestStatus[]> {
    const res = await callUnary(this.#c.listStatuses.bind(this.#c), { filters: [...filters] }, ctx);
    return res.statuses.map(statusFromProto);
  }

  async abort(ctx: Context, ref: string): Promise<void> {
    await callUnary(this.#c.abort.bind(this.#c), { ref }, ctx);
  }

  /**
   * Opens a Write stream and negotiates it with a STAT carrying `ref`, `total` and `expected`; the
   * writer starts at the offset the server reports (a resumed or shared ingest).
   */
  async writer(ctx: Context, options: WriterOptions): Promise<ContentWriter> {
    if (options.ref === "") throw new InvalidArgumentError("ref must not be empty");
    if (ctx.signal.aborted) throw normalize(ctx.signal.reason ?? new CanceledError(""));
    const call = this.#c.write(callMetadata(ctx)) as ClientDuplexStream<WriteContentRequest, WriteContentResponse>;
    const session = new WriteSession(call, ctx.signal);
    try {
      const opened = await session.send({
        action: WriteAction.STAT,
        ref: options.ref,
        total: BigInt(options.total ?? 0),
        expected: options.expected ?? "",
      });
      return new ProxyWriter({ ref: options.ref, session, opened });
    } catch (err) {
      session.cancel();
      throw err;
    }
  }

  /** Closes the client (a shared channel given through `channelOverride` stays open). */
  close(): void {
    this.#c.close();
  }
}

/** A reader that issues one `Read` per `readAt`, as the Go client's `remoteReaderAt` does. */
class ProxyReaderAt implements ReaderAt {
  readonly size: number;
  readonly #store: ProxyContentStore;
  readonly #ctx: Context;
  readonly #dgst: Digest;

  constructor(store: ProxyContentStore, ctx: Context, dgst: Digest, size: number) {
    this.#store = store;
    this.#ctx = ctx;
    this.#dgst = dgst;
    this.size = size;
  }

  async readAt(buffer: Uint8Array, position: number, length: number = buffer.byteLength): Promise<number> {
    const want = Math.min(length, buffer.byteLength, Math.max(0, this.size - position));
    if (want <= 0) return 0;
    let n = 0;
    for await (const chunk of this.#store.read(this.#ctx, this.#dgst, { offset: position, size: want })) {
      const take = Math.min(chunk.byteLength, want - n);
      buffer.set(take === chunk.byteLength ? chunk : chunk.subarray(0, take), n);
      n += take;
      if (n >= want) break;
    }
    return n;
  }

  async close(): Promise<void> {}

  async [Symbol.asyncDispose](): Promise<void> {}
}
