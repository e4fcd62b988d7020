/**
 * Tar format constants and the field codecs shared by the reader and the writer (POSIX ustar, PAX, GNU),
 * following the behaviour of Go's archive/tar, which containerd uses.
 */
import { InvalidArgumentError } from "@containerts/errdefs";

/** Size of a tar block. */
export const BLOCK = 512;

/** Type flags (the byte at offset 156). */
export const TypeFlag = {
  Reg: "0",
  RegA: "\0",
  Link: "1",
  Symlink: "2",
  Char: "3",
  Block: "4",
  Dir: "5",
  Fifo: "6",
  Cont: "7",
  XHeader: "x",
  XGlobalHeader: "g",
  GNUSparse: "S",
  GNULongName: "L",
  GNULongLink: "K",
} as const;

/** Limit on PAX and GNU long-name payloads (Go's `maxSpecialFileSize`). */
export const MAX_SPECIAL_FILE_SIZE = 1 << 20;

/** Prefix of PAX records carrying extended attributes. */
export const PAX_SCHILY_XATTR = "SCHILY.xattr.";

/** Field offsets of a header block. */
export const Field = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
  // GNU
  gnuAtime: [345, 12],
  gnuCtime: [357, 12],
  gnuSparse: [386, 96],
  gnuIsExtended: [482, 1],
  gnuRealSize: [483, 12],
  // star
  starPrefix: [345, 131],
  starAtime: [476, 12],
  starCtime: [488, 12],
  starTrailer: [508, 4],
} as const satisfies Record<string, readonly [number, number]>;

/** The header formats the reader distinguishes (Go's `getFormat`). */
export type HeaderFormat = "v7" | "ustar" | "gnu" | "star";

/** An archive format error: the layer is not a valid tar stream. */
export function invalidArchive(detail: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid tar archive: ${detail}`);
}

/** Returns `b[off, off+len)`. */
export function field(b: Uint8Array, f: readonly [number, number]): Uint8Array {
  return b.subarray(f[0], f[0] + f[1]);
}

/** A NUL-terminated string field (everything after the first NUL is ignored, as tar defines). */
export function parseString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return Buffer.from(b.buffer, b.byteOffset, nul === -1 ? b.byteLength : nul).toString("utf8");
}

/**
 * A numeric field: octal (spaces and NULs around it trimmed), or base-256 when the top bit of the first
 * byte is set (GNU and star extension for values that do not fit). Returns a bigint so callers can
 * reject values beyond what they accept.
 */
export function parseNumeric(b: Uint8Array): bigint {
  if (b.byteLength > 0 && ((b[0] as number) & 0x80) !== 0) {
    // Base-256, two's complement: 0x80 marks a positive value, 0xff a negative one.
    const inv = (b[0] as number) & 0x40 ? 0xff : 0x00;
    let x = 0n;
    for (let i = 0; i < b.byteLength; i++) {
      let c = (b[i] as number) ^ inv;
      if (i === 0) c &= 0x7f;
      x = (x << 8n) | BigInt(c);
    }
    if (x >> 63n !== 0n) throw invalidArchive("integer overflow in a numeric field");
    return inv === 0xff ? ~x : x;
  }
  let start = 0;
  let end = b.byteLength;
  while (start < end && (b[start] === 0x20 || b[start] === 0)) start++;
  while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--;
  if (start === end) return 0n;
  let x = 0n;
  for (let i = start; i < end; i++) {
    const c = b[i] as number;
    if (c < 0x30 || c > 0x37) throw invalidArchive("invalid octal number in a numeric field");
    x = (x << 3n) | BigInt(c - 0x30);
  }
  if (x >> 63n !== 0n) throw invalidArchive("integer overflow in a numeric field");
  return x;
}

/** A numeric field as a safe JavaScript number; `what` names the field in the error. */
export function parseSafe(b: Uint8Array, what: string): number {
  const v = parseNumeric(b);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw invalidArchive(`${what} ${v} is too large`);
  }
  return Number(v);
}

/** Sums of a header block with the checksum field read as spaces: unsigned and signed (Go accepts both). */
export function checksums(b: Uint8Array): [unsigned: number, signed: number] {
  let u = 0;
  let s = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (b[i] as number);
    u += c;
    s += c >= 0x80 ? c - 256 : c;
  }
  return [u, s];
}

/** The header format of a block, or undefined when its checksum is wrong (Go's `getFormat`). */
export function headerFormat(b: Uint8Array): HeaderFormat | undefined {
  let chk: number;
  try {
    chk = Number(parseNumeric(field(b, Field.chksum)));
  } catch {
    return undefined;
  }
  const [u, s] = checksums(b);
  if (chk !== u && chk !== s) return undefined;
  const magic = Buffer.from(field(b, Field.magic)).toString("latin1");
  const version = Buffer.from(field(b, Field.version)).toString("latin1");
  const trailer = Buffer.from(field(b, Field.starTrailer)).toString("latin1");
  if (magic === "ustar\0" && version === "00") return trailer === "tar\0" ? "star" : "ustar";
  if (magic === "ustar " && version === " \0") return "gnu";
  return "v7";
}

/** True when the whole block is zero (an end-of-archive marker). */
export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < b.byteLength; i++) if (b[i] !== 0) return false;
  return true;
}

/** Padding after `size` bytes of data up to the next block boundary. */
export function blockPadding(size: number): number {
  return -size & (BLOCK - 1);
}

/** One parsed PAX record set: keys to raw values (binary-safe). */
export type PaxRecords = Map<string, Buffer>;

/**
 * Parses a PAX extended header payload (`"%d %s=%s\n"` records), binary-safe so that xattr values
 * survive byte for byte. Validates like Go's `validPAXRecord`: a key may not be empty or contain `=`
 * or NUL, and path, linkpath, uname and gname values may not contain NUL. GNU sparse 0.0 records
 * (repeated `GNU.sparse.offset` / `GNU.sparse.numbytes`) are collected into `GNU.sparse.map`.
 */
export function parsePax(data: Uint8Array): PaxRecords {
  const out: PaxRecords = new Map();
  const sparse0: string[] = [];
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  while (pos < buf.byteLength) {
    const sp = buf.indexOf(0x20, pos);
    if (sp === -1 || sp === pos || sp - pos > 20) throw invalidArchive("malformed PAX record");
    const lenText = buf.toString("latin1", pos, sp);
    if (!/^[0-9]+$/.test(lenText)) throw invalidArchive("malformed PAX record length");
    const len = Number(lenText);
    const end = pos + len;
    if (len <= sp - pos + 1 || end > buf.byteLength || buf[end - 1] !== 0x0a) {
      throw invalidArchive("malformed PAX record");
    }
    const rec = buf.subarray(sp + 1, end - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw invalidArchive("malformed PAX record");
    const keyBytes = rec.subarray(0, eq);
    if (keyBytes.includes(0)) throw invalidArchive("PAX record key contains a NUL byte");
    const key = keyBytes.toString("utf8");
    const value = Buffer.from(rec.subarray(eq + 1));
    if ((key === "path" || key === "linkpath" || key === "uname" || key === "gname") && value.includes(0)) {
      throw invalidArchive(`PAX record ${key} contains a NUL byte`);
    }
    if (key === "GNU.sparse.offset" || key === "GNU.sparse.numbytes") {
      const v = value.toString("latin1");
      if ((key === "GNU.sparse.offset") !== (sparse0.length % 2 === 0) || !/^[0-9]+$/.test(v)) {
        throw invalidArchive("malformed GNU sparse 0.0 record");
      }
      sparse0.push(v);
    } else {
      out.set(key, value);
    }
    pos = end;
  }
  if (sparse0.length > 0) out.set("GNU.sparse.map", Buffer.from(sparse0.join(","), "latin1"));
  return out;
}

/** Parses a PAX time (`seconds[.fraction]`, possibly negative) into seconds. */
export function parsePaxTime(v: string): number {
  if (!/^-?[0-9]+(\.[0-9]*)?$/.test(v)) throw invalidArchive(`invalid PAX time ${JSON.stringify(v)}`);
  const n = Number(v);
  if (!Number.isFinite(n)) throw invalidArchive(`invalid PAX time ${JSON.stringify(v)}`);
  return n;
}

/** Parses a PAX decimal integer; `what` names it in errors. */
export function parsePaxInt(v: string, what: string): number {
  if (!/^-?[0-9]+$/.test(v)) throw invalidArchive(`invalid PAX ${what} ${JSON.stringify(v)}`);
  const n = BigInt(v);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw invalidArchive(`PAX ${what} ${v} is too large`);
  }
  return Number(n);
}
