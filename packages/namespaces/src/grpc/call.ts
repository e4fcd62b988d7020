/**
 * The server-side and client-side glue every service adapter and proxy shares: building a {@link Context}
 * from a gRPC call (namespace and lease metadata, cancellation, deadline) and mapping errors with
 * `@containerts/errdefs/grpc`. Handlers written with these wrappers never touch grpc-js callbacks or status
 * codes themselves.
 */
import {
  Metadata,
  type CallOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type handleBidiStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerDuplexStream,
  type ServerWritableStream,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { CanceledError, normalize } from "@containerts/errdefs";
import { fromGrpcError, toGrpcStatus } from "@containerts/errdefs/grpc";
import { type Context, background } from "../context.js";
import { LEASE_HEADER, NAMESPACE_HEADER } from "../context.js";

/** The parts of a grpc-js server call (unary, streaming or duplex) the context is built from. */
interface AnyServerCall {
  readonly metadata: Metadata;
  getDeadline(): Date | number;
  on(event: "cancelled", listener: () => void): unknown;
  removeListener(event: "cancelled", listener: () => void): unknown;
}

function first(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  if (v === undefined) return undefined;
  return typeof v === "string" ? v : v.toString("utf8");
}

/**
 * Builds the request context of a server call: `containerd-namespace` and `containerd-lease` (first
 * values), and a signal aborted when the client cancels or the call's deadline passes. `dispose` releases
 * the deadline timer once the handler is done.
 */
export function contextFromCall(call: AnyServerCall): { ctx: Context; dispose: () => void } {
  const ac = new AbortController();
  const onCancel = () => ac.abort(new CanceledError("call canceled by client"));
  call.on("cancelled", onCancel);
  let timer: NodeJS.Timeout | undefined;
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  if (Number.isFinite(ms)) {
    const delay = Math.max(0, ms - Date.now());
    timer = setTimeout(() => ac.abort(new DOMException("deadline exceeded", "TimeoutError")), delay);
  }
  let ctx = background(ac.signal);
  const ns = first(call.metadata, NAMESPACE_HEADER);
  const lease = first(call.metadata, LEASE_HEADER);
  if (ns !== undefined) ctx = { ...ctx, namespace: ns };
  if (lease !== undefined && lease !== "") ctx = { ...ctx, leaseId: lease };
  return {
    ctx,
    dispose: () => {
      if (timer) clearTimeout(timer);
      call.removeListener("cancelled", onCancel);
    },
  };
}

function toServiceError(err: unknown): Partial<ServiceError> {
  const st = toGrpcStatus(err);
  return { code: st.code, details: st.details, message: st.details, metadata: new Metadata() };
}

/** Wraps a unary handler `(request, ctx) → response`. */
export function unary<Req, Res>(handler: (req: Req, ctx: Context) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const { ctx, dispose } = contextFromCall(call as unknown as AnyServerCall);
    let p: Promise<Res>;
    try {
      p = handler(call.request, ctx);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err) as ServiceError),
    ).finally(dispose);
  };
}

/** Sends one message on a server stream, waiting for the transport to drain when its buffer is full. */
export type Send<T> = (message: T) => Promise<void>;

function sender<T>(call: ServerWritableStream<unknown, T> | ServerDuplexStream<unknown, T>, ctx: Context): Send<T> {
  return (message: T) => {
    if (ctx.signal.aborted) return Promise.reject(new CanceledError("call canceled by client"));
    if (call.write(message)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        ctx.signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        call.removeListener("drain", onDrain);
        reject(new CanceledError("call canceled by client"));
      };
      call.once("drain", onDrain);
      ctx.signal.addEventListener("abort", onAbort, { once: true });
    });
  };
}

/** Wraps a server-streaming handler `(request, ctx, send)`; the stream ends when the handler resolves. */
export function serverStream<Req, Res>(
  handler: (req: Req, ctx: Context, send: Send<Res>) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const { ctx, dispose } = contextFromCall(call as unknown as AnyServerCall);
    const send = sender(call, ctx);
    Promise.resolve()
      .then(() => handler(call.request, ctx, send))
      .then(
        () => {
          if (!ctx.signal.aborted) call.end();
        },
        (err: unknown) => {
          if (!ctx.signal.aborted) call.emit("error", toServiceError(err));
        },
      )
      .finally(dispose);
  };
}

/**
 * Wraps a bidirectional handler `(requests, ctx, send)`: `requests` yields the client's messages in
 * order and ends at the client's half-close.
 */
export function bidiStream<Req, Res>(
  handler: (requests: AsyncIterable<Req>, ctx: Context, send: Send<Res>) => Promise<void>,
): handleBidiStreamingCall<Req, Res> {
  return (call) => {
    const { ctx, dispose } = contextFromCall(call as unknown as AnyServerCall);
    const send = sender(call, ctx);
    Promise.resolve()
      // Not `call` itself: a for-await over a Readable destroys it when the loop ends, which would
      // also destroy the writable side before the status is sent (the client would never see it).
      .then(() => handler(call.iterator({ destroyOnReturn: false }) as AsyncIterable<Req>, ctx, send))
      .then(
        () => {
          if (!ctx.signal.aborted) call.end();
        },
        (err: unknown) => {
          if (!ctx.signal.aborted) call.emit("error", toServiceError(err));
        },
      )
      .finally(dispose);
  };
}

/** The outgoing metadata of a client call: the context's namespace and lease. */
export function callMetadata(ctx: Context): Metadata {
  const md = new Metadata();
  if (ctx.namespace !== undefined && ctx.namespace !== "") md.set(NAMESPACE_HEADER, ctx.namespace);
  if (ctx.leaseId !== undefined && ctx.leaseId !== "") md.set(LEASE_HEADER, ctx.leaseId);
  return md;
}

/** A generated client's unary method, called with metadata, options and a callback. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** A generated client's server-streaming method. */
export type StreamMethod<Req, Res> = (request: Req, metadata: Metadata, options?: Partial<CallOptions>) => ClientReadableStream<Res>;

/**
 * Calls a unary method with the context's metadata; the context's signal cancels the call. Errors come
 * back as containerts errors of the matching kind.
 */
export function callUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, ctx: Context): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (ctx.signal.aborted) {
      reject(normalize(ctx.signal.reason ?? new CanceledError("")));
      return;
    }
    const onAbort = () => call.cancel();
    const call = method(request, callMetadata(ctx), {}, (err, res) => {
      ctx.signal.removeEventListener("abort", onAbort);
      if (err) reject(fromGrpcError(err));
      else resolve(res);
    });
    ctx.signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Calls a server-streaming method and yields its messages; errors become containerts errors. */
export async function* callStream<Req, Res>(method: StreamMethod<Req, Res>, request: Req, ctx: Context): AsyncGenerator<Res> {
  const call = method(request, callMetadata(ctx));
  const onAbort = () => call.cancel();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const msg of call as AsyncIterable<Res>) yield msg;
  } catch (err) {
    throw fromGrpcError(err);
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    call.cancel();
  }
}

/** The part of a grpc-js `Server` a service plugin needs. */
export interface GrpcServerLike {
  addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void;
}

/**
 * The instance of an `io.containerd.grpc.v1` plugin: it registers its gRPC service(s) on the daemon's
 * server. The daemon collects every initialized plugin of that type and calls `register` once.
 */
export interface GrpcServicePlugin {
  register(server: GrpcServerLike): void;
}

/** Builds a {@link GrpcServicePlugin} for one service definition and its implementation. */
export function grpcService<S extends ServiceDefinition>(definition: S, implementation: UntypedServiceImplementation): GrpcServicePlugin {
  return { register: (server) => server.addService(definition, implementation) };
}
