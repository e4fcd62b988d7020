/**
 * A small, deterministic tar writer: ustar headers, with a PAX extended header in front of an entry whose
 * name or link target does not fit the ustar fields. Every header carries the same owner (0:0, no user or
 * group names) and the same modification time, so equal input gives equal bytes.
 */

/** One tar entry. Paths are relative (no leading `/`); directories may end in `/` or not. */
export interface TarEntry {
  readonly path: string;
  readonly type: "file" | "dir" | "symlink" | "hardlink";
  /** Permission bits (and setuid/setgid/sticky). */
  readonly mode: number;
  /** Content of a regular file. */
  readonly data?: Uint8Array;
  /** Target of a symlink (as written) or of a hardlink (a path inside the archive). */
  readonly linkname?: string;
}

/** Options of {@link writeTar}. */
export interface TarOptions {
  /** Modification time of every entry, in seconds since the epoch. Default {@link FIXED_MTIME}. */
  readonly mtime?: number;
}

/** 2000-01-01T00:00:00Z: the modification time given to every entry unless told otherwise. */
export const FIXED_MTIME = 946684800;

const BLOCK = 512;
const TYPEFLAG = { file: "0", hardlink: "1", symlink: "2", dir: "5" } as const;
const encoder = new TextEncoder();

function octal(value: number, width: number): string {
  // width includes the terminating NUL.
  return value.toString(8).padStart(width - 1, "0");
}

function putString(header: Buffer, offset: number, width: number, value: string): void {
  const bytes = encoder.encode(value);
  header.set(bytes.subarray(0, width), offset);
}

function header(name: string, type: string, mode: number, size: number, mtime: number, linkname: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  putString(h, 0, 100, name);
  putString(h, 100, 8, octal(mode, 8));
  putString(h, 108, 8, octal(0, 8));
  putString(h, 116, 8, octal(0, 8));
  putString(h, 124, 12, octal(size, 12));
  putString(h, 136, 12, octal(mtime, 12));
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  putString(h, 156, 1, type);
  putString(h, 157, 100, linkname);
  putString(h, 257, 6, "ustar\0");
  putString(h, 263, 2, "00");
  putString(h, 329, 8, octal(0, 8));
  putString(h, 337, 8, octal(0, 8));
  let sum = 0;
  for (const b of h) sum += b;
  putString(h, 148, 8, `${octal(sum, 7)}\0 `);
  return h;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** A PAX record `"<len> <key>=<value>\n"`, whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  for (;;) {
    const total = len + String(len).length;
    if (String(total).length === String(len).length) return `${total}${body}`;
    len += 1;
  }
}

function fits(value: string, width: number): boolean {
  return Buffer.byteLength(value) <= width;
}

/**
 * Serializes `entries`, in the order given, into a tar stream ending with the two zero blocks.
 * Throws RangeError for a relative path that is empty or absolute.
 */
export function writeTar(entries: Iterable<TarEntry>, options: TarOptions = {}): Buffer {
  const mtime = options.mtime ?? FIXED_MTIME;
  const chunks: Buffer[] = [];
  for (const e of entries) {
    let name = e.path.replace(/^\.?\/+/, "");
    if (name === "" || name.startsWith("/")) throw new RangeError(`tar entry path ${JSON.stringify(e.path)} is not relative`);
    if (e.type === "dir" && !name.endsWith("/")) name += "/";
    const linkname = e.type === "hardlink" ? (e.linkname ?? "").replace(/^\/+/, "") : (e.linkname ?? "");
    const data = e.type === "file" ? (e.data ?? new Uint8Array(0)) : new Uint8Array(0);
    const pax: string[] = [];
    if (!fits(name, 100)) pax.push(paxRecord("path", name));
    if (!fits(linkname, 100)) pax.push(paxRecord("linkpath", linkname));
    if (pax.length > 0) {
      const body = Buffer.from(pax.join(""));
      const paxName = `PaxHeaders/${name.replace(/\/$/, "").split("/").pop() ?? "entry"}`.slice(0, 100);
      chunks.push(header(paxName, "x", 0o644, body.length, mtime, ""), body, padding(body.length));
    }
    chunks.push(
      header(name.slice(0, 100), TYPEFLAG[e.type], e.mode & 0o7777, data.length, mtime, linkname.slice(0, 100)),
    );
    if (data.length > 0) chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength), padding(data.length));
  }
  chunks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(chunks);
}

/** An entry read back by {@link readTar}. */
export interface ReadTarEntry extends TarEntry {
  readonly mtime: number;
  readonly uid: number;
  readonly gid: number;
}

function field(b: Buffer, offset: number, width: number): string {
  const s = b.subarray(offset, offset + width);
  const end = s.indexOf(0);
  return s.toString("utf8", 0, end < 0 ? width : end);
}

function num(b: Buffer, offset: number, width: number): number {
  const t = field(b, offset, width).trim();
  return t === "" ? 0 : Number.parseInt(t, 8);
}

const TYPES: Readonly<Record<string, TarEntry["type"]>> = { "0": "file", "\0": "file", "": "file", "1": "hardlink", "2": "symlink", "5": "dir" };

/**
 * Parses a tar stream written by {@link writeTar} (ustar entries, PAX `path`/`linkpath` records):
 * used to check archives in tests. Throws RangeError for a bad checksum or an unsupported entry type.
 */
export function readTar(data: Uint8Array): ReadTarEntry[] {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: ReadTarEntry[] = [];
  let pax: Record<string, string> = {};
  for (let off = 0; off + BLOCK <= b.length; ) {
    const h = b.subarray(off, off + BLOCK);
    if (h.every((x) => x === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== num(h, 148, 8)) throw new RangeError(`tar header at ${off}: bad checksum`);
    const size = num(h, 124, 12);
    const type = field(h, 156, 1);
    const body = b.subarray(off + BLOCK, off + BLOCK + size);
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x") {
      pax = {};
      let text = body.toString("utf8");
      while (text.length > 0) {
        const sp = text.indexOf(" ");
        const len = Number(text.slice(0, sp));
        const rec = text.slice(sp + 1, len - 1);
        const eq = rec.indexOf("=");
        pax[rec.slice(0, eq)] = rec.slice(eq + 1);
        text = text.slice(len);
      }
      continue;
    }
    const kind = TYPES[type];
    if (kind === undefined) throw new RangeError(`tar entry type ${JSON.stringify(type)} is not supported`);
    const path = pax["path"] ?? field(h, 0, 100);
    const linkname = pax["linkpath"] ?? field(h, 157, 100);
    pax = {};
    out.push({
      path,
      type: kind,
      mode: num(h, 100, 8),
      mtime: num(h, 136, 12),
      uid: num(h, 108, 8),
      gid: num(h, 116, 8),
      ...(kind === "file" ? { data: Buffer.from(body) } : {}),
      ...(kind === "symlink" || kind === "hardlink" ? { linkname } : {}),
    });
  }
  return out;
}
