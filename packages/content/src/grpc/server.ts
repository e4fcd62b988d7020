/**
 * The Content gRPC service (`containerd.services.content.v1.Content`) over a {@link ContentStore}: a
 * mechanical adapter in the shape of containerd's `contentserver`: parse, call the store, convert, and
 * let the call wrappers map errors to gRPC status.
 */
import {
  WriteAction,
  type ContentServer,
  type Info,
  type WriteContentRequest,
  type WriteContentResponse,
} from "@containerts/api/services/content/v1";
import {
  AlreadyExistsError,
  InvalidArgumentError,
  OutOfRangeError,
  isNotFound,
  withContext,
} from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { bidiStream, grpcService, serverStream, unary, type GrpcServicePlugin } from "@containerts/namespaces/grpc";

import type { ContentStore, ContentWriter } from "../content.js";
import { isDigest, type Digest } from "../digest.js";
import { contentServiceDefinition } from "./codec.js";
import {
  dateToProto,
  infoToProto,
  numberFromProto,
  statusToProto,
  updateInfoFromProto,
} from "./convert.js";

/** How many blobs one `List` response carries at most (containerd's batch size). */
export const listBatchSize = 100;

/**
 * Validates a digest from a request.
 * @throws InvalidArgumentError `"<d>" failed validation` (containerd's wording, without a suffix).
 */
function requestDigest(d: string): Digest {
  if (!isDigest(d)) throw new InvalidArgumentError(`${JSON.stringify(d)} failed validation`, { bare: true });
  return d;
}

/** True when `dgst` is committed and visible in the context's namespace. */
async function visible(store: ContentStore, ctx: Context, dgst: string): Promise<boolean> {
  try {
    await store.info(ctx, dgst);
    return true;
  } catch {
    return false;
  }
}

/**
 * Drives one `Write` stream (containerd's `contentserver.Write`): the first request must carry a ref;
 * the writer for it is opened (and locked) with the first request's total and expected digest; every
 * request gets exactly one response; the stream ends after a COMMIT response or when the client
 * half-closes. The writer is always closed, which keeps an uncommitted ingest resumable.
 */
async function write(
  store: ContentStore,
  requests: AsyncIterable<WriteContentRequest>,
  ctx: Context,
  send: (m: WriteContentResponse) => Promise<void>,
): Promise<void> {
  const it = requests[Symbol.asyncIterator]();
  let next = await it.next();
  if (next.done === true) return;
  let req = next.value;
  const ref = req.ref;
  if (ref === "") throw new InvalidArgumentError("first message must have a reference", { bare: true });
  let total = Math.max(0, numberFromProto(req.total, "total"));
  let expected = req.expected;

  const w: ContentWriter = await store.writer(ctx, {
    ref,
    ...(total > 0 ? { total } : {}),
    ...(expected !== "" ? { expected } : {}),
  });
  try {
    // As upstream, one response object is carried from request to request (fields not set by a
    // request keep their last value); each send gets a copy.
    const msg: WriteContentResponse = {
      action: WriteAction.STAT,
      startedAt: undefined,
      updatedAt: undefined,
      offset: 0n,
      total: 0n,
      digest: "",
    };
    for (;;) {
      msg.action = req.action;
      msg.offset = BigInt(w.offset);
      if (req.expected !== "") {
        expected = req.expected;
        if (await visible(store, ctx, req.expected)) {
          await w.close();
          try {
            await store.abort(ctx, ref);
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
          throw new AlreadyExistsError(`blob with expected digest ${req.expected} exists`, { bare: true });
        }
      }
      if (req.total > 0n) total = numberFromProto(req.total, "total");

      switch (req.action) {
        case WriteAction.STAT: {
          const st = await w.status();
          msg.offset = BigInt(st.offset);
          msg.digest = w.digest();
          msg.startedAt = dateToProto(st.startedAt);
          msg.updatedAt = dateToProto(st.updatedAt);
          msg.total = BigInt(total);
          break;
        }
        case WriteAction.WRITE:
        case WriteAction.COMMIT: {
          const offset = numberFromProto(req.offset, "offset");
          if (offset > 0 && offset !== w.offset) {
            throw new OutOfRangeError(`write @${offset} must occur at current offset ${w.offset}`, { bare: true });
          }
          if (offset === 0 && w.offset > 0) {
            await w.truncate(0);
            msg.offset = 0n;
          }
          if (req.data.byteLength > 0) {
            await w.write(req.data);
            msg.offset = BigInt(w.offset);
          }
          if (req.action === WriteAction.COMMIT) {
            const labels = req.labels;
            await w.commit(total, expected === "" ? undefined : expected, Object.keys(labels).length > 0 ? { labels } : {});
          }
          msg.digest = w.digest();
          break;
        }
        default:
          break;
      }

      await send({ ...msg });
      if (req.action === WriteAction.COMMIT) return;
      next = await it.next();
      if (next.done === true) return;
      req = next.value;
    }
  } finally {
    await w.close();
  }
}

/**
 * Creates the Content gRPC service over `store` (in the daemon: the content service, i.e. the metadata
 * database's namespaced store with event publishing). Behaviour follows containerd 1.6 (see
 * api-compat §4.1): `List` sends batches of at most {@link listBatchSize} and nothing when empty;
 * `Read` sends chunks of at most 1 MiB whose `offset` is relative to the requested offset, and fails
 * OUT_OF_RANGE past the end; `Write` answers each request once.
 */
export function createContentServer(store: ContentStore): GrpcServicePlugin {
  const impl: ContentServer = {
    info: unary(async (req, ctx) => ({ info: infoToProto(await store.info(ctx, requestDigest(req.digest))) })),

    update: unary(async (req, ctx) => {
      requestDigest(req.info?.digest ?? "");
      const info = await store.update(ctx, updateInfoFromProto(req.info), req.updateMask ?? []);
      return { info: infoToProto(info) };
    }),

    list: serverStream(async (req, ctx, send) => {
      let batch: Info[] = [];
      await store.walk(
        ctx,
        async (info) => {
          batch.push(infoToProto(info));
          if (batch.length >= listBatchSize) {
            const full = batch;
            batch = [];
            await send({ info: full });
          }
        },
        req.filters,
      );
      if (batch.length > 0) await send({ info: batch });
    }),

    delete: unary(async (req, ctx) => {
      await store.delete(ctx, requestDigest(req.digest));
      return {};
    }),

    read: serverStream(async (req, ctx, send) => {
      const dgst = requestDigest(req.digest);
      const info = await store.info(ctx, dgst);
      const offset = Math.max(0, numberFromProto(req.offset, "offset"));
      if (offset > info.size) throw new OutOfRangeError(`read past object length ${info.size} bytes`, { bare: true });
      let size = numberFromProto(req.size, "size");
      if (size <= 0 || offset + size > info.size) size = info.size - offset;
      if (size === 0) return;
      let relative = 0;
      for await (const chunk of store.read(ctx, dgst, { offset, size })) {
        const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        await send({ offset: BigInt(relative), data });
        relative += chunk.byteLength;
      }
    }),

    status: unary(async (req, ctx) => {
      try {
        return { status: statusToProto(await store.status(ctx, req.ref)) };
      } catch (err) {
        throw withContext(err, `could not get status for ref ${JSON.stringify(req.ref)}`);
      }
    }),

    listStatuses: unary(async (req, ctx) => ({
      statuses: (await store.listStatuses(ctx, req.filters)).map(statusToProto),
    })),

    write: bidiStream((requests, ctx, send) => write(store, requests, ctx, send)),

    abort: unary(async (req, ctx) => {
      await store.abort(ctx, req.ref);
      return {};
    }),
  };
  return grpcService(contentServiceDefinition, impl);
}
