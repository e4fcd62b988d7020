/**
 * The daemon's gRPC server: gRPC over HTTP/2 (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md)
 * on the minimal HTTP/2 server of session.ts, on a unix socket.
 *
 * Why not @grpc/grpc-js's server: a containerd client makes many short calls (42 for one
 * `ctr run --rm`), and node:http2 plus grpc-js cost about 0.3 ms of the daemon's single thread per call
 * (docs/decisions.md §15 has the measurements). Service implementations are unchanged: they are the
 * grpc-js handler functions (`handleUnaryCall` & co.) built by `@containerts/namespaces/grpc`, called with
 * call objects that have the members those handlers use (request, metadata, getDeadline, cancelled,
 * write/end/emit('error'), iterator, 'cancelled' and 'drain' events).
 */
import { EventEmitter } from "node:events";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { gunzipSync, inflateSync } from "node:zlib";
import { Metadata, status as Status, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { encodeHeaders } from "./hpack.js";
import { H2Session, type H2Stream } from "./session.js";

interface Method {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestDeserialize: (b: Buffer) => unknown;
  readonly responseSerialize: (v: unknown) => Buffer;
  readonly handler: (...args: unknown[]) => void;
}

export interface GrpcServerOptions {
  /** Largest request message accepted (RESOURCE_EXHAUSTED above it). */
  readonly maxReceiveMessageLength: number;
  /** Largest response message sent (RESOURCE_EXHAUSTED above it). */
  readonly maxSendMessageLength: number;
}

const RESPONSE_HEADERS = encodeHeaders([
  [":status", "200"],
  ["content-type", "application/grpc"],
]);
const OK_TRAILERS = encodeHeaders([
  ["grpc-status", "0"],
]);

/** Headers that are not call metadata (grpc-js leaves these out of `call.metadata` too). */
const RESERVED = new Set(["content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "grpc-message-type", "host"]);

/** Percent-encodes a status message as the gRPC spec asks (bytes outside 0x20–0x7e, and '%'). */
export function encodeGrpcMessage(s: string): string {
  const bytes = Buffer.from(s, "utf8");
  let out = "";
  for (const b of bytes) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x25) out += String.fromCharCode(b);
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Parses `grpc-timeout` (e.g. `100m`) into milliseconds, or undefined when malformed. */
export function parseTimeout(v: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (m === null) return undefined;
  const n = Number(m[1]);
  switch (m[2]) {
    case "H":
      return n * 3_600_000;
    case "M":
      return n * 60_000;
    case "S":
      return n * 1000;
    case "m":
      return n;
    case "u":
      return n / 1000;
    default:
      return n / 1_000_000;
  }
}

function trailers(code: number, details: string, md?: Metadata): Buffer {
  const fields: [string, string][] = [["grpc-status", String(code)]];
  if (details !== "") fields.push(["grpc-message", encodeGrpcMessage(details)]);
  if (md !== undefined) appendMetadata(fields, md);
  return encodeHeaders(fields);
}

function trailersOnly(code: number, details: string, md?: Metadata): Buffer {
  const fields: [string, string][] = [
    [":status", "200"],
    ["content-type", "application/grpc"],
    ["grpc-status", String(code)],
  ];
  if (details !== "") fields.push(["grpc-message", encodeGrpcMessage(details)]);
  if (md !== undefined) appendMetadata(fields, md);
  return encodeHeaders(fields);
}

function appendMetadata(fields: [string, string][], md: Metadata): void {
  for (const [k, v] of Object.entries(md.getMap())) {
    if (RESERVED.has(k) || k.startsWith("grpc-") || k.startsWith(":")) continue;
    fields.push([k, Buffer.isBuffer(v) ? v.toString("base64") : String(v)]);
  }
}

/**
 * One call, as the handlers see it. It is an EventEmitter: 'cancelled' when the client cancels (or the
 * deadline passes), 'drain' after write() returned false; emit('error', status) ends the call with that
 * status, as on a grpc-js server stream.
 */
export class ServerCall extends EventEmitter {
  request: unknown = undefined;
  cancelled = false;
  readonly metadata: Metadata;
  readonly #stream: H2Stream;
  readonly #method: Method;
  readonly #server: GrpcServer;
  readonly #deadline: number;
  #timer: NodeJS.Timeout | undefined;
  #done = false;
  /** Incoming message parsing. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  readonly #messages: unknown[] = [];
  /** Received bytes not yet given back to the client's window: held while decoded messages wait. */
  #uncredited = 0;
  #ended = false;
  #waiter: (() => void) | undefined;
  readonly #compression: string;

  constructor(server: GrpcServer, stream: H2Stream, method: Method, headers: [string, string][]) {
    super();
    this.#server = server;
    this.#stream = stream;
    this.#method = method;
    this.metadata = new Metadata();
    let deadline = Number.POSITIVE_INFINITY;
    let compression = "identity";
    for (const [k, v] of headers) {
      if (k.startsWith(":")) continue;
      if (k === "grpc-timeout") {
        const ms = parseTimeout(v);
        if (ms !== undefined) deadline = Date.now() + ms;
        continue;
      }
      if (k === "grpc-encoding") compression = v;
      if (RESERVED.has(k)) continue;
      try {
        if (k.endsWith("-bin")) this.metadata.add(k, Buffer.from(v, "base64"));
        else this.metadata.add(k, v);
      } catch {
        // a key or value grpc-js's Metadata refuses is left out, as grpc-js's own server does
      }
    }
    this.#compression = compression;
    this.#deadline = deadline;
    if (Number.isFinite(deadline)) {
      this.#timer = setTimeout(() => this.#expire(), Math.max(0, deadline - Date.now()));
    }
  }

  getDeadline(): number {
    return this.#deadline;
  }

  getPath(): string {
    return this.#method.path;
  }

  /** Sends one response message; false when the caller should wait for 'drain'. */
  write(message: unknown): boolean {
    if (this.#done) return true;
    let body: Buffer;
    try {
      body = this.#method.responseSerialize(message);
    } catch (err) {
      this.#finish(Status.INTERNAL, `failed to serialize the response: ${(err as Error).message}`);
      return true;
    }
    if (body.length > this.#server.options.maxSendMessageLength) {
      this.#finish(Status.RESOURCE_EXHAUSTED, `grpc: trying to send message larger than max (${body.length} vs. ${this.#server.options.maxSendMessageLength})`);
      return true;
    }
    if (!this.#stream.headersSent) this.#stream.respond(RESPONSE_HEADERS);
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(body.length, 1);
    return this.#stream.write(prefix, body);
  }

  /** Ends the call with OK. */
  end(): void {
    this.#finish(Status.OK, "");
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === "error") {
      const e = (args[0] ?? {}) as { code?: number; details?: string; message?: string; metadata?: Metadata };
      this.#finish(e.code ?? Status.UNKNOWN, e.details ?? e.message ?? "", e.metadata);
      return this.listenerCount("error") > 0 ? super.emit(event, ...args) : true;
    }
    return super.emit(event, ...args);
  }

  /** The client's messages in order, ending at its half-close (for streaming requests). */
  iterator(_opts?: { destroyOnReturn?: boolean }): AsyncIterableIterator<unknown> {
    const next = async (): Promise<IteratorResult<unknown>> => {
      for (;;) {
        if (this.#messages.length > 0) {
          const value = this.#messages.shift();
          this.#creditIfCaughtUp();
          return { value, done: false };
        }
        if (this.#ended || this.#done) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (this.#waiter = resolve));
      }
    };
    const it: AsyncIterableIterator<unknown> = {
      next,
      return: async () => ({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  /** A unary or client-streaming handler's answer. */
  callback = (err: unknown, value?: unknown): void => {
    if (err !== null && err !== undefined) {
      this.emit("error", err);
      return;
    }
    if (this.#done) return;
    this.write(value);
    this.end();
  };

  // --- from the stream ----------------------------------------------------------------------------------

  /** @internal */
  onData(chunk: Buffer): void {
    if (this.#done) return;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    this.#uncredited += chunk.length;
    this.#parse();
    this.#creditIfCaughtUp();
  }

  /**
   * Flow control: what arrived is given back to the client's window while the handler keeps up (no
   * decoded message waiting), so a message larger than the window still gets through; while messages
   * wait, the client can send at most one window more.
   */
  #creditIfCaughtUp(): void {
    if (this.#messages.length === 0 && this.#uncredited > 0) {
      this.#stream.credit(this.#uncredited);
      this.#uncredited = 0;
    }
  }

  #parse(): void {
    while (this.#pendingBytes >= 5) {
      const head = this.#peek(5);
      const len = head.readUInt32BE(1);
      if (len > this.#server.options.maxReceiveMessageLength) {
        this.#finish(Status.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${len} vs. ${this.#server.options.maxReceiveMessageLength})`);
        return;
      }
      if (this.#pendingBytes < 5 + len) return;
      const frame = this.#take(5 + len);
      let body = frame.subarray(5);
      if (frame[0] === 1) {
        try {
          if (this.#compression === "gzip") body = gunzipSync(body);
          else if (this.#compression === "deflate") body = inflateSync(body);
          else {
            this.#finish(Status.UNIMPLEMENTED, `grpc: Decompressor is not installed for grpc-encoding "${this.#compression}"`);
            return;
          }
        } catch (err) {
          this.#finish(Status.INTERNAL, `grpc: failed to decompress the received message: ${(err as Error).message}`);
          return;
        }
        if (body.length > this.#server.options.maxReceiveMessageLength) {
          this.#finish(Status.RESOURCE_EXHAUSTED, `grpc: received message after decompression larger than max (${body.length} vs. ${this.#server.options.maxReceiveMessageLength})`);
          return;
        }
      } else if (frame[0] !== 0) {
        this.#finish(Status.INTERNAL, `grpc: invalid message compression flag ${frame[0]}`);
        return;
      }
      let value: unknown;
      try {
        value = this.#method.requestDeserialize(body);
      } catch (err) {
        this.#finish(Status.INTERNAL, `grpc: error unmarshalling request: ${(err as Error).message}`);
        return;
      }
      this.#messages.push(value);
      if (!this.#method.requestStream && this.#messages.length > 1) {
        this.#finish(Status.INTERNAL, "grpc: client streaming protocol violation: get <nil>, want <EOF>");
        return;
      }
      this.#wake();
    }
  }

  /** @internal */
  onEnd(): void {
    this.#ended = true;
    if (this.#pendingBytes > 0 && !this.#done) {
      this.#finish(Status.INTERNAL, "grpc: the request ended inside a message");
      return;
    }
    this.#wake();
  }

  /** @internal */
  onAbort(): void {
    this.#cancel();
  }

  /** @internal */
  onDrain(): void {
    super.emit("drain");
  }

  /** Starts a unary or server-streaming call once its single request message is in. @internal */
  takeRequest(): boolean {
    if (this.#messages.length === 0) {
      this.#finish(Status.INTERNAL, "grpc: the request has no message");
      return false;
    }
    this.request = this.#messages.shift();
    return true;
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
    this.#server.onCallInput(this);
  }

  #peek(n: number): Buffer {
    const first = this.#pending[0]!;
    if (first.length >= n) return first;
    const all = Buffer.concat(this.#pending);
    this.#pending = [all];
    return all;
  }

  #take(n: number): Buffer {
    const all = this.#peek(n);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#pendingBytes -= n;
    return out;
  }

  get ended(): boolean {
    return this.#ended;
  }

  #expire(): void {
    this.#timer = undefined;
    if (this.#done) return;
    this.#finish(Status.DEADLINE_EXCEEDED, "Deadline exceeded");
    this.cancelled = true;
    super.emit("cancelled", "deadline");
  }

  #cancel(): void {
    if (this.#done) return;
    this.#done = true;
    this.#clear();
    this.cancelled = true;
    this.#server.onCallDone(this);
    super.emit("cancelled", "cancelled");
  }

  #finish(code: number, details: string, md?: Metadata): void {
    if (this.#done) return;
    this.#done = true;
    this.#clear();
    if (this.#stream.headersSent) this.#stream.end(trailers(code, details, md));
    else if (code === Status.OK) {
      this.#stream.respond(RESPONSE_HEADERS);
      this.#stream.end(OK_TRAILERS);
    } else this.#stream.end(trailersOnly(code, details, md));
    this.#server.onCallDone(this);
  }

  #clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }
}

/** The gRPC server: services registered with addService, served on unix sockets by listen(). */
export class GrpcServer {
  readonly options: GrpcServerOptions;
  readonly #methods = new Map<string, Method>();
  readonly #services = new Set<string>();
  readonly #netServers: NetServer[] = [];
  readonly #sessions = new Set<H2Session>();
  readonly #waitingForRequest = new Set<ServerCall>();
  #calls = 0;

  constructor(options: GrpcServerOptions) {
    this.options = options;
  }

  /** Registers a service definition (generated by ts-proto for grpc-js) with its handlers. */
  addService(def: ServiceDefinition, impl: UntypedServiceImplementation): void {
    for (const [name, m] of Object.entries(def)) {
      const handler = impl[name] ?? impl[name.charAt(0).toLowerCase() + name.slice(1)];
      if (typeof handler !== "function") continue;
      if (this.#methods.has(m.path)) throw new Error(`method ${m.path} is registered twice`);
      this.#methods.set(m.path, {
        path: m.path,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        requestDeserialize: m.requestDeserialize as (b: Buffer) => unknown,
        responseSerialize: m.responseSerialize as (v: unknown) => Buffer,
        handler: handler as (...args: unknown[]) => void,
      });
      this.#services.add(m.path.split("/")[1] ?? "");
    }
  }

  /** Listens on a unix socket path. */
  listen(path: string): Promise<void> {
    const server = createServer((socket) => this.#connection(socket));
    this.#netServers.push(server);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.removeListener("error", reject);
        resolve();
      });
    });
  }

  /** Calls in progress (for tests and shutdown). */
  get activeCalls(): number {
    return this.#calls;
  }

  /** HTTP/2 streams still open on all connections (for tests: none may stay once calls are done). */
  get openStreams(): number {
    let n = 0;
    for (const s of this.#sessions) n += s.streams.size;
    return n;
  }

  /** Stops accepting; lets open calls finish (GOAWAY), then calls `done`. */
  tryShutdown(done: () => void): void {
    for (const s of this.#netServers) s.close();
    let pending = this.#sessions.size + 1;
    const one = () => {
      if (--pending === 0) done();
    };
    for (const session of [...this.#sessions]) session.drain(one);
    one();
  }

  /** Closes every connection at once; open calls are cancelled. */
  forceShutdown(): void {
    for (const s of this.#netServers) s.close();
    for (const session of [...this.#sessions]) session.destroy();
  }

  #connection(socket: Socket): void {
    const session = new H2Session(socket, (stream, headers) => this.#stream(stream, headers));
    this.#sessions.add(session);
    socket.once("close", () => this.#sessions.delete(session));
  }

  #stream(stream: H2Stream, headers: [string, string][]): void {
    let path = "";
    let method = "";
    let contentType = "";
    for (const [k, v] of headers) {
      if (k === ":path") path = v;
      else if (k === ":method") method = v;
      else if (k === "content-type") contentType = v;
    }
    if (method !== "POST") {
      stream.end(encodeHeaders([[":status", "405"]]));
      return;
    }
    if (!(contentType === "application/grpc" || contentType.startsWith("application/grpc+") || contentType.startsWith("application/grpc;"))) {
      stream.end(encodeHeaders([[":status", "415"], ["grpc-status", String(Status.INTERNAL)], ["grpc-message", encodeGrpcMessage(`invalid gRPC request content-type "${contentType}"`)]]));
      return;
    }
    const m = this.#methods.get(path);
    if (m === undefined) {
      const parts = path.split("/");
      const svc = parts[1] ?? "";
      const details = this.#services.has(svc) ? `unknown method ${parts[2] ?? ""} for service ${svc}` : `unknown service ${svc}`;
      stream.end(trailersOnly(Status.UNIMPLEMENTED, details));
      return;
    }
    const call = new ServerCall(this, stream, m, headers);
    stream.events = call;
    this.#calls++;
    if (m.requestStream) this.#start(call, m);
    else this.#waitingForRequest.add(call);
  }

  /** @internal A call got a message or its end. */
  onCallInput(call: ServerCall): void {
    if (!this.#waitingForRequest.has(call) || !call.ended) return;
    this.#waitingForRequest.delete(call);
    const m = this.#methods.get(call.getPath())!;
    if (call.takeRequest()) this.#start(call, m);
  }

  /** @internal */
  onCallDone(call: ServerCall): void {
    this.#waitingForRequest.delete(call);
    this.#calls--;
  }

  #start(call: ServerCall, m: Method): void {
    try {
      if (m.responseStream) m.handler(call);
      else m.handler(call, call.callback);
    } catch (err) {
      call.emit("error", { code: Status.UNKNOWN, details: (err as Error).message });
    }
  }
}
