/**
 * The ttrpc server: services of unary methods served over stream sockets (ttrpc v1.1, `server.go`,
 * `services.go`).
 */
import * as net from "node:net";
import { AlreadyExistsError, CanceledError, FailedPreconditionError, InternalError, withContext } from "@containerts/errdefs";
import {
  FrameParser,
  MESSAGE_LENGTH_MAX,
  MESSAGE_TYPE_REQUEST,
  MESSAGE_TYPE_RESPONSE,
  encodeFrame,
  oversizedMessage,
} from "./internal/frame.js";
import { type RequestMessage, type StatusMessage, decodeRequest, encodeResponse } from "./internal/messages.js";
import { errorToStatus } from "./internal/status.js";
import { setLongTimeout } from "./internal/timer.js";

/** gRPC codes the server itself sends (google.rpc.Code numbering). */
const Code = { InvalidArgument: 3, ResourceExhausted: 8, Unimplemented: 12 } as const;

/** What a handler gets besides the request bytes. */
export interface TtrpcCallContext {
  /**
   * Request metadata, values in the order received. Keys are as sent (Go clients lower-case them);
   * the namespace, when a client sends one, is under `containerd-namespace-ttrpc`.
   */
  readonly metadata: Map<string, string[]>;
  /**
   * Aborted when the request's deadline passes (reason: a `TimeoutError` DOMException, which errdefs
   * `normalize` maps to DeadlineExceeded) or when the connection closes (reason: an `AbortError`,
   * mapped to Canceled).
   */
  readonly signal: AbortSignal;
  /** The deadline derived from the request's `timeout_nano`, when it had one. */
  readonly deadline?: Date;
}

/**
 * A unary method implementation: takes the encoded request message and returns the encoded response
 * message (a zero-length array for `google.protobuf.Empty`).
 *
 * Error contract: whatever it throws is sent as the call's status through errdefs `toGrpcStatus`
 * (errdefs kinds → their codes, Node ENOENT → NotFound, EEXIST → AlreadyExists, EACCES/EPERM →
 * PermissionDenied, AbortError → Canceled, TimeoutError → DeadlineExceeded, anything else → Unknown),
 * with the error's message as the status message.
 */
export type TtrpcHandler = (payload: Uint8Array, ctx: TtrpcCallContext) => Promise<Uint8Array> | Uint8Array;

/** The methods of one service, by bare method name (`Create`, `State`, …). */
export type TtrpcServiceMethods = Readonly<Record<string, TtrpcHandler>>;

/**
 * Where {@link TtrpcServer.listen} accepts connections: a unix socket path to bind, a `net.Server`
 * (served as is, whether it is listening yet or not), or the number of an inherited file descriptor
 * that is already a bound, listening socket (a runtime v2 shim receives its socket as fd 3).
 */
export type TtrpcListenTarget = string | net.Server | number;

/** Options of {@link createTtrpcServer}. */
export interface TtrpcServerOptions {
  /**
   * Receives errors that have no caller to go to: listener accept errors, socket errors of connections
   * (which are closed; a peer's ECONNRESET/EPIPE is not reported) and failures to send a response.
   * Ignored when not set.
   */
  readonly onError?: (err: unknown) => void;
}

/** Options of {@link TtrpcServer.shutdown}. */
export interface TtrpcShutdownOptions {
  /** Aborting stops waiting (the promise rejects with CanceledError); connections stay open. */
  readonly signal?: AbortSignal;
}

/**
 * A ttrpc server.
 *
 * Lifecycle: {@link register} services, then {@link listen} on one or more sockets and/or hand accepted
 * connections to {@link serve}. Requests on one connection run concurrently; each response goes back
 * on the request's stream id as soon as its handler settles. {@link shutdown} stops accepting and closes
 * each connection once it has no request in flight; {@link close} closes everything at once, aborting
 * the handlers' signals.
 *
 * Protocol errors answered by the server itself (with ttrpc's wording): even stream id →
 * InvalidArgument `StreamID must be odd for client initiated streams`; undecodable request →
 * InvalidArgument `unmarshal request error: …`; unknown service → Unimplemented `service <name>`;
 * unknown method → Unimplemented `method <name>`; frame over 4 MiB → ResourceExhausted
 * `message length N exceed maximum message size of 4194304` (also sent instead of a response that
 * would exceed the limit). Frames that are not requests are ignored.
 *
 * Unlike the Go server on Linux, it does not check that the peer runs as the same UID (Node exposes no
 * SO_PEERCRED): restrict access with the socket file's mode and directory instead.
 */
export interface TtrpcServer {
  /**
   * Registers a service under its full proto name (`containerd.task.v2.Task`).
   * Throws AlreadyExistsError if the name is registered already. Later registrations apply to
   * connections already being served.
   */
  register(service: string, methods: TtrpcServiceMethods): void;
  /**
   * Starts accepting connections on `target` and resolves once it listens. Errors: AlreadyExistsError
   * when a path is in use (EADDRINUSE), other listen errors normalized by errdefs with the address as
   * context, FailedPreconditionError `ttrpc: server closed` after {@link shutdown}/{@link close}.
   */
  listen(target: TtrpcListenTarget): Promise<void>;
  /** Serves one accepted connection; after shutdown/close the socket is destroyed instead. */
  serve(socket: net.Socket): void;
  /**
   * Graceful stop: closes the listeners, then closes every connection as soon as it has no request in
   * flight; resolves when all connections and listeners are closed.
   */
  shutdown(options?: TtrpcShutdownOptions): Promise<void>;
  /** Immediate stop: closes listeners and connections (handlers' signals abort); resolves when closed. */
  close(): Promise<void>;
}

/** Creates a ttrpc server with no services registered. */
export function createTtrpcServer(options: TtrpcServerOptions = {}): TtrpcServer {
  return new Server(options);
}

type ServerState = "serving" | "shutting-down" | "closed";

interface Listener {
  readonly server: net.Server;
  readonly onConnection: (socket: net.Socket) => void;
  readonly onError: (err: Error) => void;
  closing?: Promise<void>;
}

class Server implements TtrpcServer {
  readonly #onError: (err: unknown) => void;
  readonly #services = new Map<string, ReadonlyMap<string, TtrpcHandler>>();
  readonly #listeners = new Set<Listener>();
  readonly #connections = new Set<Connection>();
  readonly #drainWaiters = new Set<() => void>();
  #state: ServerState = "serving";

  constructor(options: TtrpcServerOptions) {
    this.#onError = options.onError ?? (() => {});
  }

  register(service: string, methods: TtrpcServiceMethods): void {
    if (this.#services.has(service)) throw new AlreadyExistsError(`ttrpc: service ${service}`);
    this.#services.set(service, new Map(Object.entries(methods)));
  }

  /** The handler for service/method, or the Unimplemented status ttrpc sends. */
  resolve(service: string, method: string): TtrpcHandler | StatusMessage {
    const methods = this.#services.get(service);
    if (methods === undefined) return { code: Code.Unimplemented, message: `service ${service}` };
    const handler = methods.get(method);
    if (handler === undefined) return { code: Code.Unimplemented, message: `method ${method}` };
    return handler;
  }

  async listen(target: TtrpcListenTarget): Promise<void> {
    if (this.#state !== "serving") throw new FailedPreconditionError("ttrpc: server closed", { bare: true });
    if (target instanceof net.Server) {
      this.#attach(target);
      return;
    }
    const server = net.createServer();
    const where = typeof target === "string" ? `listen unix ${target}` : `listen fd ${target}`;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        server.off("listening", onListening);
        reject(
          err.code === "EADDRINUSE"
            ? new AlreadyExistsError(`ttrpc: ${where}: ${err.message}`, { cause: err, bare: true })
            : withContext(err, `ttrpc: ${where}`),
        );
      };
      const onListening = (): void => {
        server.off("error", onError);
        resolve();
      };
      server.once("error", onError);
      server.once("listening", onListening);
      if (typeof target === "string") server.listen({ path: target });
      else server.listen({ fd: target });
    });
    if (this.#state !== "serving") {
      // Closed while we were binding: do not leave the socket behind.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw new FailedPreconditionError("ttrpc: server closed", { bare: true });
    }
    this.#attach(server);
  }

  #attach(server: net.Server): void {
    const listener: Listener = {
      server,
      onConnection: (socket) => this.serve(socket),
      onError: (err) => this.#onError(err),
    };
    server.on("connection", listener.onConnection);
    server.on("error", listener.onError);
    this.#listeners.add(listener);
  }

  serve(socket: net.Socket): void {
    if (this.#state !== "serving") {
      socket.destroy();
      return;
    }
    const conn = new Connection(this, socket, this.#onError);
    this.#connections.add(conn);
  }

  /** Called by a connection once its socket has closed. */
  connectionClosed(conn: Connection): void {
    this.#connections.delete(conn);
    if (this.#connections.size === 0) {
      for (const wake of [...this.#drainWaiters]) wake();
    }
  }

  async shutdown(options: TtrpcShutdownOptions = {}): Promise<void> {
    const { signal } = options;
    if (this.#state === "serving") this.#state = "shutting-down";
    const listenersClosed = this.#closeListeners();
    for (const conn of this.#connections) conn.closeWhenIdle();
    if (this.#connections.size > 0) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          this.#drainWaiters.delete(wake);
          reject(new CanceledError("ttrpc: shutdown", { cause: signal?.reason }));
        };
        const wake = (): void => {
          this.#drainWaiters.delete(wake);
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        if (signal?.aborted) {
          onAbort();
          return;
        }
        this.#drainWaiters.add(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    await listenersClosed;
  }

  async close(): Promise<void> {
    this.#state = "closed";
    const listenersClosed = this.#closeListeners();
    const connsClosed = [...this.#connections].map((c) => c.destroy());
    await Promise.all([listenersClosed, ...connsClosed]);
  }

  /** Closes every listener once; resolves when all have emitted `close`. */
  #closeListeners(): Promise<void> {
    const all: Promise<void>[] = [];
    for (const l of this.#listeners) {
      if (l.closing === undefined) {
        l.server.off("connection", l.onConnection);
        // net.Server calls the callback (with ERR_SERVER_NOT_RUNNING when it never listened) on `close`.
        l.closing = new Promise<void>((resolve) => l.server.close(() => resolve())).then(() => {
          l.server.off("error", l.onError);
          this.#listeners.delete(l);
        });
      }
      all.push(l.closing);
    }
    return Promise.all(all).then(() => {});
  }
}

/** One served connection. */
class Connection {
  readonly #server: Server;
  readonly #socket: net.Socket;
  readonly #parser = new FrameParser();
  readonly #inflight = new Set<AbortController>();
  readonly #closed: Promise<void>;
  readonly #onError: (err: unknown) => void;
  #closing = false;

  constructor(server: Server, socket: net.Socket, onError: (err: unknown) => void) {
    this.#server = server;
    this.#socket = socket;
    this.#onError = onError;
    this.#closed = new Promise((resolve) => {
      const onClose = (): void => {
        this.#closing = true;
        const reason = new DOMException("ttrpc: connection closed", "AbortError");
        for (const ac of this.#inflight) ac.abort(reason);
        this.#inflight.clear();
        server.connectionClosed(this);
        resolve();
      };
      if (socket.closed) queueMicrotask(onClose);
      else socket.once("close", onClose);
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      // A peer going away is the normal end of a connection, not an error to report.
      if (err.code !== "ECONNRESET" && err.code !== "EPIPE") onError(err);
    });
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
  }

  /** Ends the connection now if no request is in flight, else as soon as the last one is answered. */
  closeWhenIdle(): void {
    this.#closing = true;
    if (this.#inflight.size === 0) this.#end();
  }

  /** Destroys the connection; in-flight handlers see their signal abort. */
  destroy(): Promise<void> {
    this.#closing = true;
    this.#socket.destroy();
    return this.#closed;
  }

  #end(): void {
    // Flush what was written, then close both directions without waiting for the peer's FIN.
    if (!this.#socket.destroyed) this.#socket.end(() => this.#socket.destroy());
  }

  #onData(chunk: Buffer): void {
    for (const frame of this.#parser.push(chunk)) {
      if (this.#closing && this.#inflight.size === 0) return; // shutting down: no new work
      const id = frame.header.streamId;
      if (frame.kind === "oversized") {
        this.#send(id, {
          status: { code: Code.ResourceExhausted, message: oversizedMessage(frame.header.length) },
          payload: EMPTY,
        });
        continue;
      }
      if (frame.header.type !== MESSAGE_TYPE_REQUEST) continue; // ignored for forward compatibility
      let request: RequestMessage;
      try {
        request = decodeRequest(frame.payload);
      } catch (err) {
        this.#send(id, {
          status: { code: Code.InvalidArgument, message: `unmarshal request error: ${messageOf(err)}` },
          payload: EMPTY,
        });
        continue;
      }
      if (id % 2 !== 1) {
        this.#send(id, {
          status: { code: Code.InvalidArgument, message: "StreamID must be odd for client initiated streams" },
          payload: EMPTY,
        });
        continue;
      }
      this.#dispatch(id, request).catch(this.#onError);
    }
  }

  async #dispatch(id: number, request: RequestMessage): Promise<void> {
    const handler = this.#server.resolve(request.service, request.method);
    if (typeof handler !== "function") {
      this.#send(id, { status: handler, payload: EMPTY });
      return;
    }
    const ac = new AbortController();
    this.#inflight.add(ac);
    let cancelTimer: (() => void) | undefined;
    let deadline: Date | undefined;
    if (request.timeoutNano !== 0) {
      // As Go's context.WithTimeout: any non-zero timeout is a deadline (a negative one has passed).
      const ms = request.timeoutNano / 1e6;
      deadline = new Date(Date.now() + ms);
      cancelTimer = setLongTimeout(
        () => ac.abort(new DOMException("ttrpc: context deadline exceeded", "TimeoutError")),
        ms,
      );
    }
    const metadata = new Map<string, string[]>();
    for (const { key, value } of request.metadata) {
      const values = metadata.get(key);
      if (values === undefined) metadata.set(key, [value]);
      else values.push(value);
    }
    const ctx: TtrpcCallContext =
      deadline === undefined ? { metadata, signal: ac.signal } : { metadata, signal: ac.signal, deadline };
    let response: { status?: StatusMessage; payload: Uint8Array };
    try {
      const payload: unknown = await handler(request.payload, ctx);
      if (!(payload instanceof Uint8Array)) {
        throw new InternalError(`ttrpc: error unsupported response type: ${typeName(payload)}`, { bare: true });
      }
      response = { payload };
    } catch (err) {
      response = { status: errorToStatus(err), payload: EMPTY };
    } finally {
      cancelTimer?.();
    }
    if (!this.#inflight.delete(ac)) return; // the connection closed meanwhile
    this.#send(id, response);
    if (this.#closing && this.#inflight.size === 0) this.#end();
  }

  #send(id: number, response: { status?: StatusMessage; payload: Uint8Array }): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    let body = encodeResponse(response);
    if (body.length > MESSAGE_LENGTH_MAX) {
      body = encodeResponse({
        status: { code: Code.ResourceExhausted, message: oversizedMessage(body.length) },
        payload: EMPTY,
      });
    }
    this.#socket.write(encodeFrame(id, MESSAGE_TYPE_RESPONSE, body));
  }
}

const EMPTY = new Uint8Array(0);

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}
