/**
 * Tar header encoding in Go's PAX style (what containerd's diff writer produces): a ustar header, preceded
 * by a PAX extended header when a value does not fit (long or non-ASCII names, large numbers, xattrs).
 * Also used by the tests to hand-craft archives, including malformed ones (`raw` fields).
 */
import { BLOCK, PAX_SCHILY_XATTR, TypeFlag, blockPadding, checksums } from "./format.js";

/** A header to encode. Strings are UTF-8; numbers are plain integers. */
export interface TarWriteHeader {
  readonly name: string;
  readonly typeflag: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** Bytes of data that follow the header (0 for header-only types). */
  readonly size?: number;
  /** Modification time in whole seconds. */
  readonly mtime?: number;
  readonly linkname?: string;
  readonly uname?: string;
  readonly gname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
  /** Extended attributes, written as `SCHILY.xattr.<name>` PAX records. */
  readonly xattrs?: ReadonlyMap<string, Uint8Array>;
  /** Extra PAX records written verbatim (tests use them for hostile archives). */
  readonly pax?: ReadonlyMap<string, Uint8Array | string>;
}

const enc = new TextEncoder();

function putString(b: Buffer, off: number, len: number, s: string): void {
  const bytes = enc.encode(s);
  b.set(bytes.subarray(0, len), off);
}

function fitsOctal(n: number, len: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n < 8 ** (len - 1);
}

function putOctal(b: Buffer, off: number, len: number, n: number): void {
  const s = n.toString(8).padStart(len - 1, "0");
  b.write(`${s}\0`, off, len, "latin1");
}

function putBase256(b: Buffer, off: number, len: number, n: number): void {
  let x = BigInt(n);
  for (let i = off + len - 1; i > off; i--) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  b[off] = 0x80;
}

function putNumber(b: Buffer, off: number, len: number, n: number): boolean {
  if (fitsOctal(n, len)) {
    putOctal(b, off, len, n);
    return true;
  }
  return false;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** Splits a name into ustar `prefix` and `name` fields, or returns undefined when it cannot. */
function splitUstar(name: string): [prefix: string, name: string] | undefined {
  const len = Buffer.byteLength(name);
  if (len <= 100) return ["", name];
  if (len > 256) return undefined;
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== "/") continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== "") return [prefix, rest];
  }
  return undefined;
}

/** Encodes one PAX record (`"%d %s=%s\n"`, the length counting itself). */
export function paxRecord(key: string, value: Uint8Array | string): Buffer {
  const v = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  const body = Buffer.concat([Buffer.from(` ${key}=`, "utf8"), v, Buffer.from("\n")]);
  let len = body.byteLength + 1;
  while (String(len).length + body.byteLength !== len) len = String(len).length + body.byteLength;
  return Buffer.concat([Buffer.from(String(len), "latin1"), body]);
}

/** Encodes a raw ustar header block; `overrides` lets tests corrupt it. Fields absent are zero. */
export function encodeUstarBlock(h: TarWriteHeader, prefix = "", name = h.name): Buffer {
  const b = Buffer.alloc(BLOCK);
  putString(b, 0, 100, name);
  putNumber(b, 100, 8, h.mode ?? 0) || putOctal(b, 100, 8, 0);
  putNumber(b, 108, 8, h.uid ?? 0) || putBase256(b, 108, 8, h.uid ?? 0);
  putNumber(b, 116, 8, h.gid ?? 0) || putBase256(b, 116, 8, h.gid ?? 0);
  putNumber(b, 124, 12, h.size ?? 0) || putBase256(b, 124, 12, h.size ?? 0);
  putNumber(b, 136, 12, h.mtime ?? 0) || putBase256(b, 136, 12, h.mtime ?? 0);
  b.write(h.typeflag, 156, 1, "latin1");
  putString(b, 157, 100, h.linkname ?? "");
  b.write("ustar\x0000", 257, 8, "latin1");
  putString(b, 265, 32, h.uname ?? "");
  putString(b, 297, 32, h.gname ?? "");
  putNumber(b, 329, 8, h.devmajor ?? 0) || putBase256(b, 329, 8, h.devmajor ?? 0);
  putNumber(b, 337, 8, h.devminor ?? 0) || putBase256(b, 337, 8, h.devminor ?? 0);
  putString(b, 345, 155, prefix);
  setChecksum(b);
  return b;
}

/** Writes the checksum field of a header block in place. */
export function setChecksum(b: Buffer): void {
  const [sum] = checksums(b);
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
}

/**
 * Encodes a header the way Go's writer does in PAX format: the ustar block, preceded by a PAX `x`
 * header when the name, link name, a number or xattrs need one. Data (and its padding) follows.
 */
export function encodeHeader(h: TarWriteHeader): Buffer {
  const records: [string, Uint8Array | string][] = [];
  let prefix = "";
  let name = h.name;
  const split = isAscii(h.name) ? splitUstar(h.name) : undefined;
  if (split === undefined) {
    records.push(["path", h.name]);
    name = truncateAscii(h.name, 100);
  } else {
    [prefix, name] = split;
  }
  let linkname = h.linkname ?? "";
  if (linkname !== "" && (!isAscii(linkname) || Buffer.byteLength(linkname) > 100)) {
    records.push(["linkpath", linkname]);
    linkname = truncateAscii(linkname, 100);
  }
  const numbers: [string, number | undefined, number][] = [
    ["uid", h.uid, 8],
    ["gid", h.gid, 8],
    ["size", h.size, 12],
    ["mtime", h.mtime, 12],
  ];
  const fixed: Record<string, number> = {};
  for (const [k, v, len] of numbers) {
    if (v !== undefined && !fitsOctal(v, len)) {
      records.push([k, String(v)]);
      fixed[k] = 0;
    }
  }
  for (const [k, v] of h.xattrs ?? []) records.push([PAX_SCHILY_XATTR + k, v]);
  for (const [k, v] of h.pax ?? []) records.push([k, v]);
  const ustar = encodeUstarBlock({ ...h, ...fixed, linkname }, prefix, name);
  if (records.length === 0) return ustar;
  records.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const body = Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
  const base = h.name.replace(/\/+$/, "").split("/").pop() ?? "";
  const paxHeader = encodeUstarBlock({
    name: truncateAscii(`PaxHeaders.0/${base}`, 100),
    typeflag: TypeFlag.XHeader,
    mode: 0o644,
    size: body.byteLength,
    mtime: fixed["mtime"] === undefined ? (h.mtime ?? 0) : 0,
  });
  return Buffer.concat([paxHeader, body, Buffer.alloc(blockPadding(body.byteLength)), ustar]);
}

function truncateAscii(s: string, max: number): string {
  let out = "";
  for (const c of s) {
    if (c.charCodeAt(0) >= 0x80) continue;
    if (out.length + 1 > max) break;
    out += c;
  }
  return out;
}

/** Zero padding after `size` bytes of data. */
export function dataPadding(size: number): Buffer {
  return Buffer.alloc(blockPadding(size));
}

/** The end-of-archive marker: two zero blocks. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
