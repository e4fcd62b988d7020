/**
 * Decompression of layer streams: detection by magic number (gzip `1f 8b 08`, zstd `28 b5 2f fd` and
 * zstd skippable frames), gzip through Node's zlib (which runs on libuv's thread pool), zstd through
 * fzstd in a worker thread (or, when the worker cannot be started, on the calling thread in small
 * slices that yield to the event loop).
 */
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Worker } from "node:worker_threads";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";
import { CanceledError, InvalidArgumentError, UnknownError } from "@containerts/errdefs";

/** What a stream's first bytes say it is. */
export type Compression = "gzip" | "zstd" | "uncompressed";

/** Classifies the first bytes of a stream (containerd's `DetectCompression`). */
export function detectCompression(head: Uint8Array): Compression {
  if (head.byteLength >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return "gzip";
  if (head.byteLength >= 4) {
    if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
    const le = ((head[0] as number) | ((head[1] as number) << 8) | ((head[2] as number) << 16) | ((head[3] as number) << 24)) >>> 0;
    if ((le & 0xfffffff0) >>> 0 === 0x184d2a50) return "zstd";
  }
  return "uncompressed";
}

/** Reads from `source` until at least `n` bytes (or the end) are buffered; returns them and the rest. */
async function peek(
  source: AsyncIterable<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; rest: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const got: Uint8Array[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done === true) {
      done = true;
      break;
    }
    if (r.value.byteLength === 0) continue;
    got.push(r.value);
    len += r.value.byteLength;
  }
  const head = got.length === 1 ? (got[0] as Uint8Array) : Buffer.concat(got);
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      if (head.byteLength > 0) yield head;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done === true) return;
        yield r.value;
      }
    } finally {
      if (!done) await it.return?.();
    }
  }
  return { head, rest: rest() };
}

/** A zstd decoder shared by the streams of one owner (an applier): see {@link ZstdDecoder.decompress}. */
export interface ZstdDecoder {
  /** Decompresses a zstd stream; the output chunks are freshly allocated. */
  decompress(source: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array>;
  /** Stops the worker thread, if one was started. */
  close(): Promise<void>;
}

/**
 * Decompresses `source` as containerd's `DecompressStream` does: gzip and zstd are detected by their
 * magic numbers, anything else passes through unchanged.
 */
export async function* decompressStream(
  source: AsyncIterable<Uint8Array>,
  zstd: ZstdDecoder,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const { head, rest } = await peek(source, 4);
  const kind = detectCompression(head);
  if (kind === "uncompressed") {
    yield* rest;
    return;
  }
  if (kind === "zstd") {
    yield* zstd.decompress(rest, signal);
    return;
  }
  const gz = createGunzip({ chunkSize: 128 * 1024 });
  let feedError: unknown;
  const feeding = pipeline(Readable.from(rest, { objectMode: false }), gz, { signal }).catch((err: unknown) => {
    feedError = err;
  });
  try {
    for await (const chunk of gz) yield chunk as Buffer;
  } catch (err) {
    throw gzipError(err);
  } finally {
    gz.destroy();
    await feeding;
  }
  if (feedError !== undefined) throw gzipError(feedError);
}

function gzipError(err: unknown): Error {
  if (signalAbortError(err)) return new CanceledError("layer decompression canceled", { cause: err });
  if (err instanceof Error && "code" in err && typeof err.code === "string" && err.code.startsWith("Z_")) {
    return new InvalidArgumentError(`gzip: ${err.message}`, { cause: err });
  }
  return err instanceof Error ? err : new UnknownError(String(err));
}

function signalAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}

/** Input slice pushed to fzstd at a time when decoding on the calling thread. */
const INLINE_SLICE = 64 * 1024;

function zstdError(err: unknown): Error {
  return new InvalidArgumentError(`zstd: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Copies a chunk into its own ArrayBuffer when it is a view of a larger one (so it can be transferred). */
function own(c: Uint8Array): Uint8Array {
  return c.byteOffset === 0 && c.byteLength === c.buffer.byteLength && c.buffer instanceof ArrayBuffer ? c : Uint8Array.from(c);
}

/** Decodes zstd on the calling thread, yielding to the event loop between small input slices. */
async function* decompressInline(source: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  let out: Uint8Array[] = [];
  const d = new Decompress((chunk) => {
    if (chunk.byteLength > 0) out.push(own(chunk));
  });
  for await (const chunk of source) {
    for (let off = 0; off < chunk.byteLength; off += INLINE_SLICE) {
      signal.throwIfAborted();
      try {
        d.push(chunk.subarray(off, off + INLINE_SLICE), false);
      } catch (err) {
        throw zstdError(err);
      }
      if (out.length > 0) {
        const o = out;
        out = [];
        yield* o;
      }
      await new Promise((r) => setImmediate(r));
    }
  }
  try {
    d.push(new Uint8Array(0), true);
  } catch (err) {
    throw zstdError(err);
  }
  yield* out;
}

// The worker is plain JavaScript evaluated from a string, so it runs the same way from sources, from
// dist and from a bundled daemon. It keeps one fzstd decoder per stream id.
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const { Decompress } = require(workerData.fzstd);
const streams = new Map();
parentPort.on("message", (m) => {
  if (m.type === "end") { streams.delete(m.stream); return; }
  let s = streams.get(m.stream);
  if (s === undefined) {
    s = { out: [], len: 0 };
    s.d = new Decompress((c) => { if (c.length > 0) { s.out.push(c); s.len += c.length; } });
    streams.set(m.stream, s);
  }
  try {
    s.d.push(new Uint8Array(m.buf), m.final);
  } catch (err) {
    streams.delete(m.stream);
    parentPort.postMessage({ stream: m.stream, seq: m.seq, error: String(err && err.message || err) });
    return;
  }
  // Output goes back in pieces of about 1 MiB, so the receiving side never handles one huge buffer.
  const bufs = [];
  let i = 0;
  while (i < s.out.length) {
    let len = 0;
    let j = i;
    while (j < s.out.length && (len === 0 || len + s.out[j].length <= 1048576)) { len += s.out[j].length; j++; }
    const buf = new Uint8Array(len);
    let p = 0;
    for (; i < j; i++) { buf.set(s.out[i], p); p += s.out[i].length; }
    bufs.push(buf.buffer);
  }
  s.out = []; s.len = 0;
  if (m.final) streams.delete(m.stream);
  parentPort.postMessage({ stream: m.stream, seq: m.seq, bufs }, bufs);
});
`;

interface Reply {
  readonly stream: number;
  readonly seq: number;
  readonly bufs?: readonly ArrayBuffer[];
  readonly error?: string;
}

/** Input slice size sent to the worker per message. */
const WORKER_SLICE = 256 * 1024;
/** Messages in flight per stream (one decoding, one queued). */
const IN_FLIGHT = 2;

/**
 * Creates the zstd decoder: fzstd in a worker thread started on first use, falling back to the calling
 * thread when fzstd's CommonJS entry cannot be resolved next to this module (some bundles).
 */
export function createZstdDecoder(): ZstdDecoder {
  let worker: Worker | undefined;
  let workerFailed = false;
  let nextStream = 1;
  const waiting = new Map<string, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  const start = (): Worker | undefined => {
    if (worker !== undefined || workerFailed) return worker;
    let fzstdPath: string;
    try {
      fzstdPath = createRequire(import.meta.url).resolve("fzstd");
    } catch {
      workerFailed = true;
      return undefined;
    }
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { fzstd: fzstdPath } });
    w.unref();
    w.on("message", (r: Reply) => {
      const key = `${r.stream}:${r.seq}`;
      const p = waiting.get(key);
      waiting.delete(key);
      p?.resolve(r);
    });
    const failAll = (err: Error) => {
      worker = undefined;
      for (const p of waiting.values()) p.reject(err);
      waiting.clear();
    };
    w.on("error", (err) => failAll(new UnknownError(`zstd worker failed: ${err.message}`, { cause: err })));
    w.on("exit", (code) => failAll(new UnknownError(`zstd worker exited with code ${code}`)));
    worker = w;
    return w;
  };

  async function* viaWorker(w: Worker, source: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array> {
    const stream = nextStream++;
    let seq = 0;
    const inflight: Promise<Reply>[] = [];
    const send = (chunk: Uint8Array, final: boolean) => {
      const s = seq++;
      const copy = Uint8Array.from(chunk);
      inflight.push(
        new Promise<Reply>((resolve, reject) => {
          waiting.set(`${stream}:${s}`, { resolve, reject });
          w.ref();
          w.postMessage({ stream, seq: s, buf: copy.buffer, final }, [copy.buffer]);
        }),
      );
    };
    const receive = async function* (): AsyncGenerator<Uint8Array> {
      const r = await (inflight.shift() as Promise<Reply>);
      if (waiting.size === 0) w.unref();
      if (r.error !== undefined) throw zstdError(r.error);
      for (const b of r.bufs ?? []) if (b.byteLength > 0) yield new Uint8Array(b);
    };
    let finished = false;
    try {
      for await (const chunk of source) {
        for (let off = 0; off < chunk.byteLength; off += WORKER_SLICE) {
          signal.throwIfAborted();
          send(chunk.subarray(off, off + WORKER_SLICE), false);
          while (inflight.length >= IN_FLIGHT) yield* receive();
        }
      }
      send(new Uint8Array(0), true);
      while (inflight.length > 0) yield* receive();
      finished = true;
    } finally {
      if (!finished) {
        // Let the worker forget the stream; replies still pending are dropped.
        for (let s = 0; s < seq; s++) {
          const key = `${stream}:${s}`;
          const p = waiting.get(key);
          waiting.delete(key);
          p?.reject(new CanceledError("zstd stream abandoned"));
        }
        if (waiting.size === 0) w.unref();
        w.postMessage({ type: "end", stream });
        await Promise.allSettled(inflight);
      }
    }
  }

  return {
    decompress(source, signal) {
      const w = start();
      return w === undefined ? decompressInline(source, signal) : viaWorker(w, source, signal);
    },
    async close() {
      const w = worker;
      worker = undefined;
      workerFailed = true;
      if (w !== undefined) await w.terminate();
    },
  };
}
