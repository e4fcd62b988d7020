/**
 * The ttrpc client: unary calls multiplexed over one stream socket (ttrpc v1.1, `client.go`).
 */
import * as net from "node:net";
import {
  CanceledError,
  type ContainertsError,
  DeadlineExceededError,
  ResourceExhaustedError,
  UnavailableError,
  UnknownError,
} from "@containerts/errdefs";
import {
  FrameParser,
  MESSAGE_LENGTH_MAX,
  MESSAGE_TYPE_REQUEST,
  MESSAGE_TYPE_RESPONSE,
  encodeFrame,
  oversizedMessage,
} from "./internal/frame.js";
import { type KeyValue, decodeResponse, encodeRequest } from "./internal/messages.js";
import { closedError, statusToError } from "./internal/status.js";
import { setLongTimeout } from "./internal/timer.js";

/**
 * Request metadata: a key may carry several values. Keys are lower-cased when sent, as the Go API
 * does (`containerd-namespace-ttrpc` is the namespace key).
 */
export type TtrpcMetadata =
  | ReadonlyMap<string, readonly string[]>
  | Readonly<Record<string, string | readonly string[]>>;

/** Per-call options of {@link TtrpcClient.call}. */
export interface TtrpcCallOptions {
  /** Aborting fails the call with CanceledError (DeadlineExceededError if the reason is a `TimeoutError`). */
  readonly signal?: AbortSignal;
  /**
   * Deadline relative to now, in milliseconds. It is sent as `timeout_nano` so the server can stop the
   * handler, and the call fails with DeadlineExceededError when it passes. A value ≤ 0 fails at once.
   */
  readonly timeoutMs?: number;
  /** Metadata sent in the request. */
  readonly metadata?: TtrpcMetadata;
}

/** What {@link TtrpcClient.onClose} listeners receive, once, when the connection is gone. */
export interface TtrpcCloseEvent {
  /** True when the client was closed by {@link TtrpcClient.close}; false when the peer or the socket went away. */
  readonly local: boolean;
  /**
   * The error calls fail with from now on: an UnavailableError whose message contains `ttrpc: closed`;
   * its `cause` is the socket error (ECONNRESET, ENOENT on connect, …) when there was one.
   */
  readonly error: UnavailableError;
}

/**
 * A ttrpc client bound to one connection.
 *
 * Calls are multiplexed: each gets the next odd stream id (1, 3, 5, …) and responses are matched by id
 * in whatever order they arrive. The connection is never re-established: once it closes (peer EOF,
 * ECONNRESET, a socket error, or {@link close}) every pending and later call fails with an
 * UnavailableError whose message contains `ttrpc: closed`, which is how a shim manager notices that a
 * shim died; {@link onClose} reports the same moment as an event.
 *
 * Error contract of {@link call}: a response whose status code is not 0 rejects with the errdefs error of
 * that gRPC code, carrying the server's message (NotFoundError for NOT_FOUND, NotImplementedError for
 * UNIMPLEMENTED, …); timeout → DeadlineExceededError; abort → CanceledError; connection lost →
 * UnavailableError (`ttrpc: closed`); a request or response over 4 MiB → ResourceExhaustedError; an
 * undecodable response → UnknownError.
 */
export interface TtrpcClient {
  /**
   * Calls `service`/`method` (full proto service name, bare method name) with an encoded request
   * message and resolves with the encoded response message (zero-length for `Empty`).
   */
  call(service: string, method: string, payload: Uint8Array, options?: TtrpcCallOptions): Promise<Uint8Array>;
  /** Closes the connection, failing pending calls; resolves once the socket is closed. Idempotent. */
  close(): Promise<void>;
  /**
   * Registers a listener for the end of the connection and returns a function that removes it.
   * A listener registered after the close is called on the next microtask.
   */
  onClose(listener: (event: TtrpcCloseEvent) => void): () => void;
  /** Resolves (never rejects) when the connection is gone. */
  readonly closed: Promise<TtrpcCloseEvent>;
  /** True once the connection is gone. */
  readonly isClosed: boolean;
}

/** Options of {@link connectTtrpcClient}. */
export interface TtrpcConnectOptions {
  /** Aborting before the connection is established fails with CanceledError. */
  readonly signal?: AbortSignal;
  /** Gives up connecting after this many milliseconds with DeadlineExceededError. */
  readonly timeoutMs?: number;
}

/**
 * Creates a client over an existing socket, or over a new connection to a unix socket path (`{ path }`,
 * where a leading `\0` names an abstract socket). The client owns the socket from now on.
 *
 * With a path the call returns at once; calls made while connecting are written when the connection is
 * up, and a failed connect closes the client (its close event's error has the connect error as cause).
 * Use {@link connectTtrpcClient} to wait for the connection and get the connect error directly.
 */
export function createTtrpcClient(socket: net.Socket | { readonly path: string }): TtrpcClient {
  const s = socket instanceof net.Socket ? socket : net.createConnection({ path: socket.path });
  return new SocketClient(s);
}

/**
 * Connects to the unix socket at `path` and resolves with a client once the connection is up.
 *
 * Errors: UnavailableError `ttrpc: dial unix <path>: <reason>` when the connection fails (the socket
 * error, e.g. ENOENT or ECONNREFUSED, is the cause); CanceledError when `signal` aborts;
 * DeadlineExceededError when `timeoutMs` passes.
 */
export async function connectTtrpcClient(path: string, options: TtrpcConnectOptions = {}): Promise<TtrpcClient> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted) throw abortError(signal);
  const socket = net.createConnection({ path });
  await new Promise<void>((resolve, reject) => {
    let cancelTimer: (() => void) | undefined;
    const cleanup = (): void => {
      socket.off("connect", onConnect);
      socket.off("error", onError);
      signal?.removeEventListener("abort", onAbort);
      cancelTimer?.();
    };
    const fail = (err: ContainertsError): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      fail(new UnavailableError(`ttrpc: dial unix ${path}: ${err.message}`, { cause: err, bare: true }));
    };
    const onAbort = (): void => fail(abortError(signal!));
    socket.once("connect", onConnect);
    socket.once("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined) {
      cancelTimer = setLongTimeout(() => fail(new DeadlineExceededError(`ttrpc: dial unix ${path}`)), timeoutMs);
    }
  });
  return new SocketClient(socket);
}

/** The error an aborted signal stands for: DeadlineExceeded for a timeout reason, else Canceled. */
function abortError(signal: AbortSignal): ContainertsError {
  const reason: unknown = signal.reason;
  const name = typeof reason === "object" && reason !== null ? (reason as { name?: unknown }).name : undefined;
  return name === "TimeoutError"
    ? new DeadlineExceededError("", { cause: reason })
    : new CanceledError("", { cause: reason });
}

interface PendingCall {
  resolve(payload: Uint8Array): void;
  reject(err: ContainertsError): void;
}

const MAX_STREAM_ID = 0xffff_ffff;

class SocketClient implements TtrpcClient {
  readonly #socket: net.Socket;
  readonly #parser = new FrameParser();
  readonly #pending = new Map<number, PendingCall>();
  readonly #listeners = new Set<(event: TtrpcCloseEvent) => void>();
  #nextId = 1;
  #closeEvent: TtrpcCloseEvent | undefined;
  #closeRequested = false;
  #socketError: Error | undefined;
  #resolveClosed!: (event: TtrpcCloseEvent) => void;
  readonly #socketClosed: Promise<void>;
  readonly closed: Promise<TtrpcCloseEvent>;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (err) => {
      this.#socketError ??= err;
    });
    // EOF ends the connection even on a half-open-capable socket, as in Go's client.
    socket.on("end", () => socket.destroy());
    if (socket.closed) {
      this.#socketClosed = Promise.resolve();
      queueMicrotask(() => this.#finish());
    } else {
      this.#socketClosed = new Promise((resolve) =>
        socket.once("close", () => {
          this.#finish();
          resolve();
        }),
      );
    }
  }

  get isClosed(): boolean {
    return this.#closeEvent !== undefined;
  }

  call(service: string, method: string, payload: Uint8Array, options: TtrpcCallOptions = {}): Promise<Uint8Array> {
    const { signal, timeoutMs, metadata } = options;
    if (this.#closeEvent !== undefined) return Promise.reject(this.#closeEvent.error);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (timeoutMs !== undefined && !(timeoutMs > 0)) return Promise.reject(new DeadlineExceededError());

    const request = encodeRequest({
      service,
      method,
      payload,
      timeoutNano: timeoutMs === undefined ? 0 : Math.round(timeoutMs * 1e6),
      metadata: metadataEntries(metadata),
    });
    if (request.length > MESSAGE_LENGTH_MAX) {
      return Promise.reject(new ResourceExhaustedError(oversizedMessage(request.length), { bare: true }));
    }
    const id = this.#allocateId();

    return new Promise<Uint8Array>((resolve, reject) => {
      let cancelTimer: (() => void) | undefined;
      const onAbort = (): void => settle(() => reject(abortError(signal!)));
      const settle = (action: () => void): void => {
        if (!this.#pending.delete(id)) return;
        cancelTimer?.();
        signal?.removeEventListener("abort", onAbort);
        action();
      };
      this.#pending.set(id, {
        resolve: (p) => settle(() => resolve(p)),
        reject: (e) => settle(() => reject(e)),
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        cancelTimer = setLongTimeout(() => settle(() => reject(new DeadlineExceededError())), timeoutMs);
      }
      this.#socket.write(encodeFrame(id, MESSAGE_TYPE_REQUEST, request));
    });
  }

  async close(): Promise<void> {
    if (this.#closeEvent === undefined) {
      this.#closeRequested = true;
      this.#socket.destroy();
    }
    await this.#socketClosed;
  }

  onClose(listener: (event: TtrpcCloseEvent) => void): () => void {
    const event = this.#closeEvent;
    if (event !== undefined) {
      queueMicrotask(() => listener(event));
      return () => {};
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Next odd stream id not in use; wraps after 2^32 - 1 (never reached in practice). */
  #allocateId(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id + 2 > MAX_STREAM_ID ? 1 : id + 2;
      if (!this.#pending.has(id)) return id;
    }
  }

  #onData(chunk: Buffer): void {
    for (const frame of this.#parser.push(chunk)) {
      const call = this.#pending.get(frame.header.streamId);
      if (call === undefined) continue; // unknown or already settled (timed out / aborted) stream
      if (frame.kind === "oversized") {
        call.reject(new ResourceExhaustedError(oversizedMessage(frame.header.length), { bare: true }));
        continue;
      }
      // Other frame types (v1.2 streaming data) are never answers to a unary call: ignore them.
      if (frame.header.type !== MESSAGE_TYPE_RESPONSE) continue;
      let response;
      try {
        response = decodeResponse(frame.payload);
      } catch (err) {
        call.reject(new UnknownError(`ttrpc: unmarshal response: ${messageOf(err)}`, { cause: err, bare: true }));
        continue;
      }
      if (response.status !== undefined && response.status.code !== 0) {
        call.reject(statusToError(response.status));
      } else {
        call.resolve(response.payload);
      }
    }
  }

  #finish(): void {
    if (this.#closeEvent !== undefined) return;
    const event: TtrpcCloseEvent = { local: this.#closeRequested, error: closedError(this.#socketError) };
    this.#closeEvent = event;
    for (const call of [...this.#pending.values()]) call.reject(event.error);
    this.#resolveClosed(event);
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    const errors: unknown[] = [];
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        errors.push(err);
      }
    }
    // A throwing listener must not keep the others from running; its error still surfaces.
    for (const err of errors) queueMicrotask(() => {
      throw err;
    });
  }
}

function metadataEntries(metadata: TtrpcMetadata | undefined): KeyValue[] {
  if (metadata === undefined) return [];
  const out: KeyValue[] = [];
  const entries: Iterable<readonly [string, string | readonly string[]]> =
    metadata instanceof Map ? metadata.entries() : Object.entries(metadata);
  for (const [key, values] of entries) {
    const k = key.toLowerCase();
    for (const value of typeof values === "string" ? [values] : values) out.push({ key: k, value });
  }
  return out;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
