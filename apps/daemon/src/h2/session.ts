/**
 * The server side of one HTTP/2 connection (RFC 9113), as much as a gRPC server needs: streams opened by
 * the client's HEADERS (with CONTINUATION), DATA in both directions under flow control, SETTINGS, PING,
 * WINDOW_UPDATE, RST_STREAM and GOAWAY. No server push, no priorities (PRIORITY is read and ignored).
 *
 * Frames written in one turn of the event loop go out in one writev (the socket is corked until the next
 * tick).
 */
import type { Socket } from "node:net";
import { HpackDecoder, HpackError } from "./hpack.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const enum FrameType {
  Data = 0,
  Headers = 1,
  Priority = 2,
  RstStream = 3,
  Settings = 4,
  PushPromise = 5,
  Ping = 6,
  GoAway = 7,
  WindowUpdate = 8,
  Continuation = 9,
}

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

/** HTTP/2 error codes. */
export const enum H2Error {
  NoError = 0,
  ProtocolError = 1,
  InternalError = 2,
  FlowControlError = 3,
  StreamClosed = 5,
  FrameSizeError = 6,
  RefusedStream = 7,
  Cancel = 8,
  CompressionError = 9,
}

const DEFAULT_WINDOW = 65_535;
/** Our per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE): bounds what one stream may buffer. */
const STREAM_WINDOW = 1 << 20;
/** Our connection receive window; credited back as soon as data arrives (the streams bound buffering). */
const CONNECTION_WINDOW = 1 << 24;
const MAX_FRAME = 16_384;
/** The largest header block (before decoding) accepted across HEADERS and CONTINUATION frames. */
const MAX_HEADER_BLOCK = 1 << 20;
/** Queued outgoing bytes of one stream above which write() asks the caller to wait for 'drain'. */
const STREAM_HIGH_WATER = 64 * 1024;
/** Buffered socket bytes above which streams wait for the socket to drain. */
const SOCKET_HIGH_WATER = 1 << 20;

class ConnectionError extends Error {
  constructor(
    readonly code: H2Error,
    message: string,
  ) {
    super(message);
  }
}

/** What the session tells a stream's owner. */
export interface StreamEvents {
  /** A chunk of the request body (DATA payload, padding removed). */
  onData(chunk: Buffer): void;
  /** The client half-closed (END_STREAM). */
  onEnd(): void;
  /** The stream was reset by the client or the connection ended before the response was complete. */
  onAbort(): void;
  /** Queued data went out: a write() that returned false may go on. */
  onDrain(): void;
}

/** One request stream. The session calls the owner's {@link StreamEvents}; the owner answers through it. */
export class H2Stream {
  events: StreamEvents | undefined;
  sendWindow: number;
  /** Response bytes waiting for flow-control window. */
  readonly queue: Buffer[] = [];
  queued = 0;
  /** Trailers to send once the queue is empty. */
  trailers: Buffer | undefined;
  headersSent = false;
  localClosed = false;
  remoteClosed = false;
  aborted = false;
  needDrain = false;
  /** Received bytes not yet credited back to the client. */
  uncredited = 0;
  /** What the client may still send on this stream (it may not go below zero). */
  recvWindow = STREAM_WINDOW;

  constructor(
    readonly session: H2Session,
    readonly id: number,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }

  /** Sends the response HEADERS (without END_STREAM). */
  respond(block: Buffer): void {
    if (this.localClosed || this.aborted) return;
    this.headersSent = true;
    this.session.writeHeaders(this.id, block, false);
  }

  /** Queues response body bytes; false when the caller should wait for onDrain. */
  write(...data: Buffer[]): boolean {
    if (this.localClosed || this.aborted) return true;
    for (const d of data) {
      this.queue.push(d);
      this.queued += d.length;
    }
    this.session.flushStream(this);
    const ok = this.queued < STREAM_HIGH_WATER && this.session.socketWritable();
    if (!ok) this.needDrain = true;
    return ok;
  }

  /** Ends the response with a trailing HEADERS block (END_STREAM), after every queued byte. */
  end(block: Buffer): void {
    if (this.localClosed || this.aborted) return;
    this.trailers = block;
    this.session.flushStream(this);
  }

  /** Gives `n` consumed request bytes back to the client's window for this stream. */
  credit(n: number): void {
    this.uncredited += n;
    if (this.remoteClosed || this.aborted) return;
    if (this.uncredited >= STREAM_WINDOW / 4) {
      this.session.writeWindowUpdate(this.id, this.uncredited);
      this.recvWindow += this.uncredited;
      this.uncredited = 0;
    }
  }

  /** Resets the stream (e.g. a request that cannot be served). */
  reset(code: H2Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.session.resetStream(this, code);
  }
}

/** One HTTP/2 connection on `socket`; `onStream` is called for each request with its header fields. */
export class H2Session {
  readonly #socket: Socket;
  readonly #onStream: (stream: H2Stream, headers: [string, string][]) => void;
  readonly #decoder = new HpackDecoder();
  readonly streams = new Map<number, H2Stream>();
  #in: Buffer | undefined;
  #preface = false;
  #lastStreamId = 0;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = MAX_FRAME;
  #sendWindow = DEFAULT_WINDOW;
  #connUncredited = 0;
  /** What the client may still send on the connection. */
  #recvWindow = CONNECTION_WINDOW;
  /** A header block waiting for CONTINUATION frames. */
  #partial: { id: number; flags: number; chunks: Buffer[]; size: number } | undefined;
  #corked = false;
  #blocked = new Set<H2Stream>();
  #goaway = false;
  #closed = false;
  #onIdle: (() => void) | undefined;

  constructor(socket: Socket, onStream: (stream: H2Stream, headers: [string, string][]) => void) {
    this.#socket = socket;
    this.#onStream = onStream;
    socket.setNoDelay?.(true);
    socket.on("data", (chunk: Buffer) => {
      try {
        this.#receive(chunk);
      } catch (err) {
        const code = err instanceof ConnectionError ? err.code : err instanceof HpackError ? H2Error.CompressionError : H2Error.InternalError;
        this.#fail(code, (err as Error).message);
      }
    });
    socket.on("drain", () => this.#drained());
    socket.on("close", () => this.#teardown());
    socket.on("error", () => this.#teardown());
    // Server preface: our SETTINGS, then more connection window than the default 64 KiB.
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(4, 0); // SETTINGS_INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(STREAM_WINDOW, 2);
    this.#frame(FrameType.Settings, 0, 0, settings);
    this.writeWindowUpdate(0, CONNECTION_WINDOW - DEFAULT_WINDOW);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True while the socket takes more data without buffering too much. */
  socketWritable(): boolean {
    return this.#socket.writableLength < SOCKET_HIGH_WATER;
  }

  /**
   * Graceful close: GOAWAY (no new streams), then the connection closes once its open streams are done;
   * `onIdle` runs then (at once when none is open).
   */
  drain(onIdle: () => void): void {
    this.#onIdle = onIdle;
    if (!this.#goaway && !this.#closed) {
      this.#goaway = true;
      this.#writeGoaway(H2Error.NoError);
    }
    this.#maybeIdle();
  }

  /** Closes the connection at once; open streams are aborted. */
  destroy(): void {
    this.#socket.destroy();
    this.#teardown();
  }

  // --- output -------------------------------------------------------------------------------------------

  #write(buf: Buffer): void {
    if (this.#closed) return;
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(buf);
  }

  #frame(type: FrameType, flags: number, id: number, payload?: Buffer | Buffer[], length?: number): void {
    const len = length ?? (payload === undefined ? 0 : Array.isArray(payload) ? payload.reduce((n, b) => n + b.length, 0) : payload.length);
    const h = Buffer.allocUnsafe(9);
    h.writeUIntBE(len, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(id, 5);
    this.#write(h);
    if (payload === undefined || len === 0) return;
    // Several parts go out as they are: the corked socket gathers them into one writev, no copy.
    if (Array.isArray(payload)) for (const b of payload) this.#write(b);
    else this.#write(payload);
  }

  writeHeaders(id: number, block: Buffer, endStream: boolean): void {
    const flagsEnd = endStream ? END_STREAM : 0;
    if (block.length <= this.#peerMaxFrame) {
      this.#frame(FrameType.Headers, flagsEnd | END_HEADERS, id, block);
      return;
    }
    let off = 0;
    let type = FrameType.Headers;
    while (off < block.length) {
      const part = block.subarray(off, off + this.#peerMaxFrame);
      off += part.length;
      const last = off >= block.length;
      this.#frame(type, (type === FrameType.Headers ? flagsEnd : 0) | (last ? END_HEADERS : 0), id, part);
      type = FrameType.Continuation;
    }
  }

  writeWindowUpdate(id: number, n: number): void {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(n, 0);
    this.#frame(FrameType.WindowUpdate, 0, id, p);
  }

  #writeGoaway(code: H2Error, message = ""): void {
    const p = Buffer.alloc(8 + Buffer.byteLength(message));
    p.writeUInt32BE(this.#lastStreamId, 0);
    p.writeUInt32BE(code, 4);
    p.write(message, 8);
    this.#frame(FrameType.GoAway, 0, 0, p);
  }

  /** Sends what flow control allows of the stream's queue, then its trailers when the queue is empty. */
  flushStream(s: H2Stream): void {
    while (s.queue.length > 0) {
      const room = Math.min(this.#sendWindow, s.sendWindow, this.#peerMaxFrame);
      if (room <= 0) {
        this.#blocked.add(s);
        return;
      }
      // One DATA frame of up to `room` bytes, from as many queued chunks as fit.
      const parts: Buffer[] = [];
      let len = 0;
      while (s.queue.length > 0 && len < room) {
        let chunk = s.queue[0]!;
        if (chunk.length > room - len) {
          s.queue[0] = chunk.subarray(room - len);
          chunk = chunk.subarray(0, room - len);
        } else {
          s.queue.shift();
        }
        parts.push(chunk);
        len += chunk.length;
      }
      s.queued -= len;
      s.sendWindow -= len;
      this.#sendWindow -= len;
      this.#frame(FrameType.Data, 0, s.id, parts, len);
    }
    this.#blocked.delete(s);
    if (s.trailers !== undefined && !s.localClosed) {
      const t = s.trailers;
      s.trailers = undefined;
      s.localClosed = true;
      this.writeHeaders(s.id, t, true);
      // The response is complete: a client still sending gets RST_STREAM(NO_ERROR) (RFC 9113 §8.1).
      if (!s.remoteClosed) this.#frame(FrameType.RstStream, 0, s.id, u32(H2Error.NoError));
      this.#close(s);
    }
    if (s.needDrain && s.queued < STREAM_HIGH_WATER && this.socketWritable()) {
      s.needDrain = false;
      s.events?.onDrain();
    }
  }

  #drained(): void {
    for (const s of [...this.streams.values()]) {
      if (s.needDrain && s.queued < STREAM_HIGH_WATER) {
        s.needDrain = false;
        s.events?.onDrain();
      }
    }
  }

  resetStream(s: H2Stream, code: H2Error): void {
    if (!this.streams.has(s.id)) return;
    this.#frame(FrameType.RstStream, 0, s.id, u32(code));
    this.#close(s);
  }

  #close(s: H2Stream): void {
    this.streams.delete(s.id);
    this.#blocked.delete(s);
    this.#maybeIdle();
  }

  #maybeIdle(): void {
    if (this.#onIdle !== undefined && this.streams.size === 0) {
      const cb = this.#onIdle;
      this.#onIdle = undefined;
      this.#socket.end();
      cb();
    }
  }

  #fail(code: H2Error, message: string): void {
    if (this.#closed) return;
    this.#writeGoaway(code, message);
    this.#socket.end();
    this.#teardown();
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.streams.values()) {
      if (!s.localClosed && !s.aborted) {
        s.aborted = true;
        s.events?.onAbort();
      }
    }
    this.streams.clear();
    this.#blocked.clear();
    const cb = this.#onIdle;
    this.#onIdle = undefined;
    cb?.();
  }

  // --- input --------------------------------------------------------------------------------------------

  #receive(chunk: Buffer): void {
    const buf = this.#in === undefined ? chunk : Buffer.concat([this.#in, chunk]);
    this.#in = undefined;
    let off = 0;
    if (!this.#preface) {
      if (buf.length < PREFACE.length) {
        if (!PREFACE.subarray(0, buf.length).equals(buf)) throw new ConnectionError(H2Error.ProtocolError, "bad connection preface");
        this.#in = buf;
        return;
      }
      if (!PREFACE.equals(buf.subarray(0, PREFACE.length))) throw new ConnectionError(H2Error.ProtocolError, "bad connection preface");
      this.#preface = true;
      off = PREFACE.length;
    }
    while (buf.length - off >= 9) {
      const len = buf.readUIntBE(off, 3);
      if (len > MAX_FRAME) throw new ConnectionError(H2Error.FrameSizeError, `frame of ${len} bytes`);
      if (buf.length - off < 9 + len) break;
      const type = buf[off + 3]!;
      const flags = buf[off + 4]!;
      const id = buf.readUInt32BE(off + 5) & 0x7fffffff;
      const payload = buf.subarray(off + 9, off + 9 + len);
      off += 9 + len;
      this.#onFrame(type, flags, id, payload);
      if (this.#closed) return;
    }
    if (off < buf.length) this.#in = off === 0 ? buf : Buffer.from(buf.subarray(off));
  }

  #onFrame(type: number, flags: number, id: number, p: Buffer): void {
    if (this.#partial !== undefined && (type !== FrameType.Continuation || id !== this.#partial.id)) {
      throw new ConnectionError(H2Error.ProtocolError, "expected CONTINUATION");
    }
    switch (type) {
      case FrameType.Data:
        return this.#onData(flags, id, p);
      case FrameType.Headers:
        return this.#onHeaders(flags, id, p);
      case FrameType.Continuation: {
        if (this.#partial === undefined) throw new ConnectionError(H2Error.ProtocolError, "unexpected CONTINUATION");
        this.#partial.chunks.push(Buffer.from(p));
        this.#partial.size += p.length;
        if (this.#partial.size > MAX_HEADER_BLOCK) throw new ConnectionError(H2Error.ProtocolError, "header block too large");
        if (flags & END_HEADERS) {
          const { id: sid, flags: hflags, chunks } = this.#partial;
          this.#partial = undefined;
          this.#onHeaderBlock(sid, hflags, Buffer.concat(chunks));
        }
        return;
      }
      case FrameType.Priority:
        return;
      case FrameType.RstStream: {
        if (id === 0 || p.length !== 4) throw new ConnectionError(H2Error.ProtocolError, "bad RST_STREAM");
        const s = this.streams.get(id);
        if (s !== undefined) {
          this.#close(s);
          if (!s.aborted && !s.localClosed) {
            s.aborted = true;
            s.events?.onAbort();
          }
        }
        return;
      }
      case FrameType.Settings:
        return this.#onSettings(flags, id, p);
      case FrameType.PushPromise:
        throw new ConnectionError(H2Error.ProtocolError, "PUSH_PROMISE from a client");
      case FrameType.Ping:
        if (id !== 0 || p.length !== 8) throw new ConnectionError(H2Error.ProtocolError, "bad PING");
        if ((flags & ACK) === 0) this.#frame(FrameType.Ping, ACK, 0, Buffer.from(p));
        return;
      case FrameType.GoAway:
        // The client will open no more streams; the open ones finish normally.
        this.#goaway = true;
        return;
      case FrameType.WindowUpdate: {
        if (p.length !== 4) throw new ConnectionError(H2Error.FrameSizeError, "bad WINDOW_UPDATE");
        const inc = p.readUInt32BE(0) & 0x7fffffff;
        if (id === 0) {
          this.#sendWindow += inc;
          if (this.#sendWindow > 0x7fffffff) throw new ConnectionError(H2Error.FlowControlError, "connection window overflow");
          for (const s of [...this.#blocked]) this.flushStream(s);
        } else {
          const s = this.streams.get(id);
          if (s === undefined) return;
          s.sendWindow += inc;
          this.flushStream(s);
        }
        return;
      }
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  #onSettings(flags: number, id: number, p: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.ProtocolError, "SETTINGS on a stream");
    if (flags & ACK) return;
    if (p.length % 6 !== 0) throw new ConnectionError(H2Error.FrameSizeError, "bad SETTINGS");
    for (let i = 0; i < p.length; i += 6) {
      const key = p.readUInt16BE(i);
      const value = p.readUInt32BE(i + 2);
      if (key === 4) {
        if (value > 0x7fffffff) throw new ConnectionError(H2Error.FlowControlError, "initial window too large");
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (key === 5) {
        if (value < MAX_FRAME || value > 16_777_215) throw new ConnectionError(H2Error.ProtocolError, "bad max frame size");
        this.#peerMaxFrame = value;
      }
    }
    this.#frame(FrameType.Settings, ACK, 0);
    for (const s of [...this.streams.values()]) if (s.queue.length > 0) this.flushStream(s);
  }

  #onHeaders(flags: number, id: number, p: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.ProtocolError, "HEADERS on stream 0");
    let start = 0;
    let end = p.length;
    if (flags & PADDED) {
      const pad = p[0] ?? 0;
      start = 1;
      end -= pad;
    }
    if (flags & PRIORITY) start += 5;
    if (start > end) throw new ConnectionError(H2Error.ProtocolError, "bad HEADERS padding");
    const block = p.subarray(start, end);
    if (flags & END_HEADERS) this.#onHeaderBlock(id, flags, block);
    else this.#partial = { id, flags, chunks: [Buffer.from(block)], size: block.length };
  }

  #onHeaderBlock(id: number, flags: number, block: Buffer): void {
    const headers = this.#decoder.decode(block); // always decoded: the table state is shared
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // Request trailers: gRPC has none to read, but they end the stream.
      if (flags & END_STREAM) this.#remoteEnd(existing);
      return;
    }
    if (id % 2 === 0 || id <= this.#lastStreamId) {
      if (id > this.#lastStreamId || id % 2 === 0) throw new ConnectionError(H2Error.ProtocolError, `bad stream id ${id}`);
      return; // a stream we already closed
    }
    this.#lastStreamId = id;
    const s = new H2Stream(this, id, this.#peerInitialWindow);
    this.streams.set(id, s);
    if (this.#goaway) {
      s.reset(H2Error.RefusedStream);
      return;
    }
    this.#onStream(s, headers);
    if (flags & END_STREAM) this.#remoteEnd(s);
  }

  #onData(flags: number, id: number, p: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.ProtocolError, "DATA on stream 0");
    // Connection-level credit at once (each stream's window bounds what it may buffer).
    this.#recvWindow -= p.length;
    if (this.#recvWindow < 0) throw new ConnectionError(H2Error.FlowControlError, "connection window exceeded");
    this.#connUncredited += p.length;
    if (this.#connUncredited >= CONNECTION_WINDOW / 4) {
      this.writeWindowUpdate(0, this.#connUncredited);
      this.#recvWindow += this.#connUncredited;
      this.#connUncredited = 0;
    }
    const s = this.streams.get(id);
    if (s === undefined || s.remoteClosed) {
      if (id > this.#lastStreamId) throw new ConnectionError(H2Error.ProtocolError, `DATA on idle stream ${id}`);
      return;
    }
    s.recvWindow -= p.length;
    if (s.recvWindow < 0) {
      // The client ignored our window: the stream ends (RFC 9113 §6.9) and its call is cancelled.
      s.reset(H2Error.FlowControlError);
      s.events?.onAbort();
      return;
    }
    let start = 0;
    let end = p.length;
    if (flags & PADDED) {
      start = 1;
      end -= p[0] ?? 0;
      if (start > end) throw new ConnectionError(H2Error.ProtocolError, "bad DATA padding");
      s.credit(p.length - (end - start));
    }
    if (end > start && !s.aborted) s.events?.onData(p.subarray(start, end));
    if (flags & END_STREAM) this.#remoteEnd(s);
  }

  #remoteEnd(s: H2Stream): void {
    if (s.remoteClosed) return;
    s.remoteClosed = true;
    if (s.localClosed) this.#close(s);
    if (!s.aborted) s.events?.onEnd();
  }
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v, 0);
  return b;
}

