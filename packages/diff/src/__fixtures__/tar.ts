/**
 * Test helpers: a tar builder for hand-crafted (and hostile) archives, a snapshot of a directory tree
 * that notices any change (content, type, mode, owner, times, ctime, link count, xattrs), and a tree
 * description used by the round-trip tests.
 */
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { TypeFlag, BLOCK } from "../internal/tar/format.js";
import { encodeHeader, encodeUstarBlock, dataPadding, endOfArchive, setChecksum, type TarWriteHeader } from "../internal/tar/writer.js";
import { llistxattr, lgetxattr } from "@containerts/sys";

/** Options shared by the builder's entry methods. */
export interface EntryOptions {
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs?: Record<string, string | Uint8Array>;
  pax?: Record<string, string | Uint8Array>;
}

function xmap(x: Record<string, string | Uint8Array> | undefined): Map<string, Uint8Array> | undefined {
  if (x === undefined) return undefined;
  return new Map(Object.entries(x).map(([k, v]) => [k, typeof v === "string" ? Buffer.from(v) : v]));
}

/** Builds tar archives entry by entry. */
export class TarBuilder {
  readonly #parts: Buffer[] = [];

  #header(h: TarWriteHeader, o: EntryOptions): void {
    const xattrs = xmap(o.xattrs);
    const pax = xmap(o.pax);
    this.#parts.push(
      encodeHeader({
        mtime: 1_600_000_000,
        uid: 0,
        gid: 0,
        ...h,
        ...(o.mode === undefined ? {} : { mode: o.mode }),
        ...(o.uid === undefined ? {} : { uid: o.uid }),
        ...(o.gid === undefined ? {} : { gid: o.gid }),
        ...(o.mtime === undefined ? {} : { mtime: o.mtime }),
        ...(xattrs === undefined ? {} : { xattrs }),
        ...(pax === undefined ? {} : { pax }),
      }),
    );
  }

  file(name: string, content: string | Uint8Array = "", o: EntryOptions = {}): this {
    const data = typeof content === "string" ? Buffer.from(content) : Buffer.from(content);
    this.#header({ name, typeflag: TypeFlag.Reg, mode: 0o644, size: data.byteLength }, o);
    this.#parts.push(data, dataPadding(data.byteLength));
    return this;
  }

  dir(name: string, o: EntryOptions = {}): this {
    this.#header({ name: name.endsWith("/") ? name : `${name}/`, typeflag: TypeFlag.Dir, mode: 0o755 }, o);
    return this;
  }

  symlink(name: string, target: string, o: EntryOptions = {}): this {
    this.#header({ name, typeflag: TypeFlag.Symlink, mode: 0o777, linkname: target }, o);
    return this;
  }

  hardlink(name: string, target: string, o: EntryOptions = {}): this {
    this.#header({ name, typeflag: TypeFlag.Link, mode: 0o644, linkname: target }, o);
    return this;
  }

  device(name: string, kind: "char" | "block", major: number, minor: number, o: EntryOptions = {}): this {
    this.#header(
      { name, typeflag: kind === "char" ? TypeFlag.Char : TypeFlag.Block, mode: 0o666, devmajor: major, devminor: minor },
      o,
    );
    return this;
  }

  fifo(name: string, o: EntryOptions = {}): this {
    this.#header({ name, typeflag: TypeFlag.Fifo, mode: 0o644 }, o);
    return this;
  }

  /** A whiteout entry (`.wh.` names are ordinary empty files in the archive). */
  whiteout(name: string): this {
    return this.file(name, "", { mode: 0 });
  }

  /** A header with a declared size and `data` (possibly shorter: a truncated archive). */
  declared(h: TarWriteHeader, data: Uint8Array = new Uint8Array(0)): this {
    this.#parts.push(encodeHeader(h), Buffer.from(data));
    return this;
  }

  /** A PAX global header. */
  global(records: Record<string, string>): this {
    const body = Buffer.concat(Object.entries(records).map(([k, v]) => paxLine(k, v)));
    this.#parts.push(
      encodeUstarBlock({ name: "pax_global_header", typeflag: TypeFlag.XGlobalHeader, size: body.byteLength }),
      body,
      dataPadding(body.byteLength),
    );
    return this;
  }

  /** A GNU long-name (`L`) entry naming the next entry. */
  gnuLongName(name: string): this {
    const body = Buffer.concat([Buffer.from(name), Buffer.from([0])]);
    this.#parts.push(
      encodeUstarBlock({ name: "././@LongLink", typeflag: TypeFlag.GNULongName, size: body.byteLength }),
      body,
      dataPadding(body.byteLength),
    );
    return this;
  }

  /** Raw bytes (hand-made blocks). */
  raw(b: Uint8Array): this {
    this.#parts.push(Buffer.from(b));
    return this;
  }

  /** The archive, with the end-of-archive marker unless `end` is false. */
  build(end = true): Buffer {
    return Buffer.concat([...this.#parts, ...(end ? [endOfArchive()] : [])]);
  }
}

function paxLine(k: string, v: string): Buffer {
  const body = ` ${k}=${v}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`);
}

/**
 * An old-GNU sparse entry (`S`): data fragments `frags` of a file of `realSize` bytes, with `realSize`
 * written in base-256 (needed past 8 GiB).
 */
export function gnuSparseEntry(name: string, realSize: number, frags: { offset: number; data: Uint8Array }[]): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, "utf8");
  b.write("0000644\0", 100, 8, "latin1");
  b.write("0000000\0", 108, 8, "latin1");
  b.write("0000000\0", 116, 8, "latin1");
  const stored = frags.reduce((n, f) => n + f.data.byteLength, 0);
  b.write(`${stored.toString(8).padStart(11, "0")}\0`, 124, 12, "latin1");
  b.write(`${(1_600_000_000).toString(8).padStart(11, "0")}\0`, 136, 12, "latin1");
  b.write("S", 156, 1, "latin1");
  b.write("ustar  \0", 257, 8, "latin1");
  if (frags.length > 4) throw new Error("gnuSparseEntry: at most 4 fragments");
  frags.forEach((f, i) => {
    const off = 386 + i * 24;
    base256(b, off, 12, f.offset);
    base256(b, off + 12, 12, f.data.byteLength);
  });
  base256(b, 483, 12, realSize);
  setChecksum(b);
  const data = Buffer.concat(frags.map((f) => Buffer.from(f.data)));
  return Buffer.concat([b, data, dataPadding(data.byteLength)]);
}

function base256(b: Buffer, off: number, len: number, n: number): void {
  let x = BigInt(n);
  for (let i = off + len - 1; i > off; i--) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  b[off] = 0x80;
}

/** Everything observable about one path (atime excluded: reading updates it). */
export interface PathState {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  mtimeNs: string;
  ctimeNs: string;
  content?: string;
  link?: string;
  xattrs: Record<string, string>;
}

function typeOf(st: import("node:fs").Stats): string {
  if (st.isSymbolicLink()) return "symlink";
  if (st.isDirectory()) return "dir";
  if (st.isFile()) return "file";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return "other";
}

function xattrsOf(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of llistxattr(path).sort()) out[n] = lgetxattr(path, n)?.toString("base64") ?? "";
  return out;
}

/** A snapshot of every path under `root` (relative names), skipping `exclude` (relative names) and below. */
export function snapshotTree(root: string, exclude: readonly string[] = [], withCtime = true): Record<string, PathState> {
  const out: Record<string, PathState> = {};
  const visit = (rel: string) => {
    const full = rel === "" ? root : `${root}/${rel}`;
    const st = lstatSync(full, { bigint: true });
    const type = typeOf(lstatSync(full));
    const s: PathState = {
      type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: type === "dir" ? 0 : Number(st.size),
      nlink: type === "dir" ? 0 : Number(st.nlink),
      mtimeNs: type === "symlink" ? "" : String(st.mtimeNs),
      ctimeNs: withCtime ? String(st.ctimeNs) : "",
      xattrs: xattrsOf(full),
    };
    if (type === "file") s.content = createHash("sha256").update(readFileSync(full)).digest("hex");
    if (type === "symlink") s.link = readlinkSync(full);
    if (type === "char" || type === "block") s.content = String(st.rdev);
    out[rel === "" ? "." : rel] = s;
    if (type === "dir") {
      for (const name of readdirSync(full).sort()) {
        const r = rel === "" ? name : `${rel}/${name}`;
        if (exclude.includes(r)) continue;
        visit(r);
      }
    }
  };
  visit("");
  return out;
}

/** An async iterable yielding `buf` in chunks of `size` bytes (default: all at once). */
export async function* chunks(buf: Uint8Array, size = buf.byteLength || 1): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.byteLength; i += size) yield buf.subarray(i, i + size);
}

/**
 * A zstd frame made of raw (stored) blocks, optionally preceded by a skippable frame: a valid zstd
 * stream that any decoder must accept, built without a compressor.
 */
export function zstdRawFrame(data: Uint8Array, withSkippable = false): Buffer {
  const parts: Buffer[] = [];
  if (withSkippable) {
    const skip = Buffer.alloc(8 + 5);
    skip.writeUInt32LE(0x184d2a53, 0);
    skip.writeUInt32LE(5, 4);
    skip.write("hello", 8);
    parts.push(skip);
  }
  parts.push(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]));
  const max = 128 * 1024;
  let off = 0;
  do {
    const n = Math.min(max, data.byteLength - off);
    const last = off + n >= data.byteLength ? 1 : 0;
    const h = (n << 3) | last;
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), Buffer.from(data.subarray(off, off + n)));
    off += n;
  } while (off < data.byteLength);
  return Buffer.concat(parts);
}
