/**
 * Typed helpers that plug message codecs (for example ts-proto's generated `Msg.encode`/`Msg.decode`)
 * into the byte-level client and server.
 */
import { InternalError, UnknownError } from "@containerts/errdefs";
import type { TtrpcCallOptions, TtrpcClient } from "./client.js";
import type { TtrpcCallContext, TtrpcHandler } from "./server.js";

/**
 * Turns a message into its protobuf bytes: a function, or an object with ts-proto's
 * `encode(msg).finish()` shape (so a generated `MessageFns` can be passed as is).
 */
export type MessageEncoder<T> = ((message: T) => Uint8Array) | { encode(message: T): { finish(): Uint8Array } };

/**
 * Turns protobuf bytes into a message: a function, or an object with ts-proto's `decode(bytes)` shape.
 * It throws on malformed input.
 */
export type MessageDecoder<T> = ((bytes: Uint8Array) => T) | { decode(bytes: Uint8Array): T };

/** Encodes with either form of {@link MessageEncoder}. */
export function encodeWith<T>(encoder: MessageEncoder<T>, message: T): Uint8Array {
  return typeof encoder === "function" ? encoder(message) : encoder.encode(message).finish();
}

/** Decodes with either form of {@link MessageDecoder}. */
export function decodeWith<T>(decoder: MessageDecoder<T>, bytes: Uint8Array): T {
  return typeof decoder === "function" ? decoder(bytes) : decoder.decode(bytes);
}

/**
 * A typed client-side unary method (see {@link unaryMethod}): call it with a client and a request
 * message. It rejects as {@link TtrpcClient.call} does, and with UnknownError
 * `ttrpc: error unmarshalling response: …` when the response bytes do not decode.
 */
export interface UnaryMethod<Req, Res> {
  (client: TtrpcClient, request: Req, options?: TtrpcCallOptions): Promise<Res>;
  /** Full proto service name. */
  readonly service: string;
  /** Bare method name. */
  readonly method: string;
}

/**
 * Declares a typed unary method of a ttrpc service.
 *
 * ```ts
 * const connect = unaryMethod("containerd.task.v2.Task", "Connect", ConnectRequest, ConnectResponse);
 * const { shimPid } = await connect(client, { id }, { timeoutMs: 5000 });
 * ```
 */
export function unaryMethod<Req, Res>(
  service: string,
  method: string,
  encode: MessageEncoder<Req>,
  decode: MessageDecoder<Res>,
): UnaryMethod<Req, Res> {
  const call = async (client: TtrpcClient, request: Req, options?: TtrpcCallOptions): Promise<Res> => {
    const bytes = await client.call(service, method, encodeWith(encode, request), options);
    try {
      return decodeWith(decode, bytes);
    } catch (err) {
      throw new UnknownError(`ttrpc: error unmarshalling response: ${messageOf(err)}`, { cause: err, bare: true });
    }
  };
  return Object.assign(call, { service, method });
}

/**
 * Wraps a typed implementation into a {@link TtrpcHandler}: the request bytes are decoded with
 * `decode` (malformed bytes → InternalError `ttrpc: error unmarshalling payload: …`, as ttrpc answers),
 * and the result is encoded with `encode`.
 *
 * ```ts
 * server.register("containerd.task.v2.Task", {
 *   Connect: unaryHandler(ConnectRequest, ConnectResponse, async (req) => ({ shimPid: process.pid, taskPid: 0, version: "" })),
 * });
 * ```
 */
export function unaryHandler<Req, Res>(
  decode: MessageDecoder<Req>,
  encode: MessageEncoder<Res>,
  implementation: (request: Req, ctx: TtrpcCallContext) => Promise<Res> | Res,
): TtrpcHandler {
  return async (payload, ctx) => {
    let request: Req;
    try {
      request = decodeWith(decode, payload);
    } catch (err) {
      throw new InternalError(`ttrpc: error unmarshalling payload: ${messageOf(err)}`, { cause: err, bare: true });
    }
    return encodeWith(encode, await implementation(request, ctx));
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
