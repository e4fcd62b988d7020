/**
 * A streaming tar reader with the semantics of Go's archive/tar (what containerd extracts with):
 * ustar, PAX (local records; global headers are returned as their own entries and not applied), GNU
 * long names and links, base-256 numbers, and GNU sparse files (old GNU `S` entries and PAX sparse
 * 0.0, 0.1 and 1.0).
 *
 * Differences from node-tar's parser that matter for layers, and why this reader exists: PAX values are
 * kept as raw bytes (binary xattr values such as `security.capability` survive), `SCHILY.xattr.*`
 * records are exposed, a NUL inside a PAX path is an error instead of being cut off silently, GNU-magic
 * headers keep their device numbers, and sparse files are described instead of being skipped.
 */
import { ByteReader } from "./byte-reader.js";
import {
  BLOCK,
  Field,
  MAX_SPECIAL_FILE_SIZE,
  PAX_SCHILY_XATTR,
  TypeFlag,
  blockPadding,
  field,
  headerFormat,
  invalidArchive,
  isZeroBlock,
  parseNumeric,
  parsePax,
  parsePaxInt,
  parsePaxTime,
  parseSafe,
  parseString,
  type PaxRecords,
} from "./format.js";

/** A data fragment of a sparse file: `length` bytes at `offset` of the logical file. */
export interface SparseEntry {
  readonly offset: number;
  readonly length: number;
}

/** A tar entry's header after PAX and GNU extensions have been applied. */
export interface TarHeader {
  /** The entry name exactly as the archive gives it (not cleaned). */
  readonly name: string;
  /** The type flag character (`0`, `5`, `2`, …; `\0` is reported as `0`, or `5` for a name ending in `/`). */
  readonly typeflag: string;
  /** Mode bits as stored (permissions plus setuid, setgid and sticky; type bits ignored). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Logical size: for sparse files the real file size, for header-only types whatever the header says. */
  readonly size: number;
  /** Modification time in seconds since the epoch (fractional with PAX). */
  readonly mtime: number;
  /** Access time in seconds, when the archive has one. */
  readonly atime?: number;
  /** Change time in seconds, when the archive has one. */
  readonly ctime?: number;
  readonly linkname: string;
  readonly uname: string;
  readonly gname: string;
  readonly devmajor: number;
  readonly devminor: number;
  /** Extended attributes from `SCHILY.xattr.<name>` records, values as raw bytes. */
  readonly xattrs: ReadonlyMap<string, Buffer>;
  /** Every PAX record of the entry, raw. */
  readonly pax: ReadonlyMap<string, Buffer>;
  /** For sparse files: the data fragments, in order, whose bytes follow one another in the body. */
  readonly sparse?: readonly SparseEntry[];
  /** Bytes of body data the entry has in the stream. */
  readonly dataSize: number;
}

function isHeaderOnly(flag: string): boolean {
  return (
    flag === TypeFlag.Link ||
    flag === TypeFlag.Symlink ||
    flag === TypeFlag.Char ||
    flag === TypeFlag.Block ||
    flag === TypeFlag.Dir ||
    flag === TypeFlag.Fifo
  );
}

function unexpectedEof(what: string): Error {
  return invalidArchive(`unexpected EOF while reading ${what}`);
}

/**
 * Reads tar entries from a byte stream: call {@link TarReader.next} for each header, and optionally
 * {@link TarReader.body} to stream its data before the next call (unread data is skipped).
 */
export class TarReader {
  readonly #r: ByteReader;
  #bodyLeft = 0;
  #padLeft = 0;
  #done = false;
  #current: TarHeader | undefined;

  constructor(source: AsyncIterable<Uint8Array> | ByteReader) {
    this.#r = source instanceof ByteReader ? source : new ByteReader(source);
  }

  /** The underlying byte reader (to drain trailing data after the archive ends). */
  get bytes(): ByteReader {
    return this.#r;
  }

  async #readBlock(what: string): Promise<Uint8Array> {
    const b = await this.#r.read(BLOCK);
    if (b.byteLength !== BLOCK) throw unexpectedEof(what);
    return b;
  }

  async #skipCurrent(): Promise<void> {
    const n = this.#bodyLeft + this.#padLeft;
    this.#bodyLeft = 0;
    this.#padLeft = 0;
    if (n > 0 && (await this.#r.skip(n)) !== n) throw unexpectedEof(`the data of "${this.#current?.name ?? ""}"`);
  }

  async #readSpecial(size: number, what: string): Promise<Uint8Array> {
    if (size > MAX_SPECIAL_FILE_SIZE) throw invalidArchive(`${what} is larger than ${MAX_SPECIAL_FILE_SIZE} bytes`);
    const data = await this.#r.read(size);
    if (data.byteLength !== size) throw unexpectedEof(what);
    const pad = blockPadding(size);
    if (pad > 0 && (await this.#r.skip(pad)) !== pad) throw unexpectedEof(what);
    return Uint8Array.from(data);
  }

  /**
   * The next entry's header, or undefined at the end of the archive (two zero blocks, or the end of
   * the stream at a block boundary).
   * @throws InvalidArgumentError `invalid tar archive: …` for a malformed or truncated archive.
   */
  async next(): Promise<TarHeader | undefined> {
    if (this.#done) return undefined;
    await this.#skipCurrent();
    this.#current = undefined;
    let pax: PaxRecords | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const blk = await this.#r.read(BLOCK);
      if (blk.byteLength === 0 && pax === undefined && longName === undefined && longLink === undefined) {
        this.#done = true;
        return undefined;
      }
      if (blk.byteLength !== BLOCK) throw unexpectedEof("a header");
      if (isZeroBlock(blk)) {
        const second = await this.#r.read(BLOCK);
        if (second.byteLength === 0 || (second.byteLength === BLOCK && isZeroBlock(second))) {
          this.#done = true;
          return undefined;
        }
        if (second.byteLength !== BLOCK) throw unexpectedEof("the end-of-archive marker");
        throw invalidArchive("invalid tar header (single zero block)");
      }
      const format = headerFormat(blk);
      if (format === undefined) throw invalidArchive("invalid tar header (checksum mismatch)");
      let flag = String.fromCharCode(blk[156] as number);
      const rawSize = parseSafe(field(blk, Field.size), "size");
      if (rawSize < 0) throw invalidArchive("negative size");

      if (flag === TypeFlag.XHeader || flag === TypeFlag.XGlobalHeader) {
        const records = parsePax(await this.#readSpecial(rawSize, "a PAX header"));
        if (flag === TypeFlag.XGlobalHeader) {
          const name = parseString(field(blk, Field.name));
          return this.#start(
            { ...emptyHeader(), name, typeflag: flag, pax: records, xattrs: xattrsOf(records) },
            0,
          );
        }
        pax = records;
        continue;
      }
      if (flag === TypeFlag.GNULongName || flag === TypeFlag.GNULongLink) {
        const s = parseString(await this.#readSpecial(rawSize, "a GNU long name"));
        if (flag === TypeFlag.GNULongName) longName = s;
        else longLink = s;
        continue;
      }

      let name = parseString(field(blk, Field.name));
      let linkname = parseString(field(blk, Field.linkname));
      let mode = parseSafe(field(blk, Field.mode), "mode");
      let uid = parseSafe(field(blk, Field.uid), "uid");
      let gid = parseSafe(field(blk, Field.gid), "gid");
      let mtime = parseSafe(field(blk, Field.mtime), "mtime");
      let atime: number | undefined;
      let ctime: number | undefined;
      let uname = "";
      let gname = "";
      let devmajor = 0;
      let devminor = 0;
      if (format !== "v7") {
        uname = parseString(field(blk, Field.uname));
        gname = parseString(field(blk, Field.gname));
        devmajor = parseSafe(field(blk, Field.devmajor), "devmajor");
        devminor = parseSafe(field(blk, Field.devminor), "devminor");
      }
      let prefix = "";
      if (format === "ustar") prefix = parseString(field(blk, Field.prefix));
      else if (format === "star") {
        prefix = parseString(field(blk, Field.starPrefix));
        atime = parseSafe(field(blk, Field.starAtime), "atime");
        ctime = parseSafe(field(blk, Field.starCtime), "ctime");
      } else if (format === "gnu") {
        if (blk[Field.gnuAtime[0]] !== 0) atime = parseSafe(field(blk, Field.gnuAtime), "atime");
        if (blk[Field.gnuCtime[0]] !== 0) ctime = parseSafe(field(blk, Field.gnuCtime), "ctime");
      }
      if (prefix !== "") name = `${prefix}/${name}`;

      let size = rawSize;
      const records = pax ?? new Map<string, Buffer>();
      for (const [k, raw] of records) {
        const v = raw.toString("utf8");
        switch (k) {
          case "path":
            name = v;
            break;
          case "linkpath":
            linkname = v;
            break;
          case "uname":
            uname = v;
            break;
          case "gname":
            gname = v;
            break;
          case "uid":
            uid = parsePaxInt(v, "uid");
            break;
          case "gid":
            gid = parsePaxInt(v, "gid");
            break;
          case "mtime":
            mtime = parsePaxTime(v);
            break;
          case "atime":
            atime = parsePaxTime(v);
            break;
          case "ctime":
            ctime = parsePaxTime(v);
            break;
          case "size":
            size = parsePaxInt(v, "size");
            if (size < 0) throw invalidArchive("negative PAX size");
            break;
          default:
            break;
        }
      }
      if (longName !== undefined && longName !== "") name = longName;
      if (longLink !== undefined && longLink !== "") linkname = longLink;
      if (flag === TypeFlag.RegA) flag = name.endsWith("/") ? TypeFlag.Dir : TypeFlag.Reg;

      let dataSize = isHeaderOnly(flag) ? 0 : size;
      let sparse: SparseEntry[] | undefined;
      if (flag === TypeFlag.GNUSparse) {
        if (format !== "gnu") throw invalidArchive("sparse entry without the GNU format");
        sparse = await this.#readOldGnuSparse(blk);
        size = parseSafe(field(blk, Field.gnuRealSize), "sparse real size");
      } else {
        const s = this.#gnuSparsePax(records);
        if (s !== undefined) {
          if (s.name !== undefined) name = s.name;
          if (s.size !== undefined) size = s.size;
          if (s.map === "1.0") {
            const { map, consumed } = await this.#readSparseMap1x0(dataSize);
            sparse = map;
            dataSize -= consumed;
          } else {
            sparse = s.map;
          }
        }
      }
      if (sparse !== undefined) {
        if (isHeaderOnly(flag)) throw invalidArchive(`sparse map on a ${flag} entry`);
        validateSparse(sparse, size, dataSize);
      }
      return this.#start(
        {
          name,
          typeflag: flag,
          mode,
          uid,
          gid,
          size,
          mtime,
          ...(atime === undefined ? {} : { atime }),
          ...(ctime === undefined ? {} : { ctime }),
          linkname,
          uname,
          gname,
          devmajor,
          devminor,
          xattrs: xattrsOf(records),
          pax: records,
          ...(sparse === undefined ? {} : { sparse }),
          dataSize,
        },
        dataSize,
        isHeaderOnly(flag) ? 0 : rawSize,
      );
    }
  }

  #start(h: TarHeader, dataSize: number, storedSize = dataSize): TarHeader {
    this.#current = h;
    this.#bodyLeft = dataSize;
    this.#padLeft = blockPadding(storedSize);
    return h;
  }

  /**
   * Streams the current entry's data (for sparse files, the packed fragments). Must be consumed before
   * the next call to {@link next}, or not at all.
   * @throws InvalidArgumentError when the stream ends before the data does.
   */
  async *body(): AsyncGenerator<Uint8Array> {
    const want = this.#bodyLeft;
    let got = 0;
    for await (const chunk of this.#r.stream(want)) {
      got += chunk.byteLength;
      this.#bodyLeft -= chunk.byteLength;
      yield chunk;
    }
    if (got !== want) throw unexpectedEof(`the data of "${this.#current?.name ?? ""}"`);
  }

  async #readOldGnuSparse(first: Uint8Array): Promise<SparseEntry[]> {
    const out: SparseEntry[] = [];
    let blk = first;
    let entries = field(first, Field.gnuSparse);
    let extended = first[Field.gnuIsExtended[0]] !== 0;
    for (;;) {
      for (let i = 0; i + 24 <= entries.byteLength; i += 24) {
        if (entries[i] === 0) break;
        out.push({
          offset: parseSafe(entries.subarray(i, i + 12), "sparse offset"),
          length: parseSafe(entries.subarray(i + 12, i + 24), "sparse length"),
        });
      }
      if (!extended) return out;
      if (out.length > 1_000_000) throw invalidArchive("too many sparse entries");
      blk = Uint8Array.from(await this.#readBlock("a GNU sparse extension header"));
      entries = blk.subarray(0, 21 * 24);
      extended = blk[504] !== 0;
    }
  }

  #gnuSparsePax(
    pax: PaxRecords,
  ): { name?: string; size?: number; map: SparseEntry[] | "1.0" } | undefined {
    const str = (k: string) => pax.get(k)?.toString("utf8");
    const major = str("GNU.sparse.major");
    const minor = str("GNU.sparse.minor");
    let is1x0: boolean;
    if (major === "0" && (minor === "0" || minor === "1")) is1x0 = false;
    else if (major === "1" && minor === "0") is1x0 = true;
    else if (major !== undefined || minor !== undefined) return undefined;
    else if ((str("GNU.sparse.map") ?? "") !== "") is1x0 = false;
    else return undefined;
    const name = str("GNU.sparse.name");
    const sizeText = str("GNU.sparse.size") ?? str("GNU.sparse.realsize");
    const out: { name?: string; size?: number; map: SparseEntry[] | "1.0" } = { map: "1.0" };
    if (name !== undefined && name !== "") out.name = name;
    if (sizeText !== undefined && sizeText !== "") out.size = parsePaxInt(sizeText, "sparse size");
    if (is1x0) return out;
    const count = parsePaxInt(str("GNU.sparse.numblocks") ?? "", "sparse numblocks");
    const parts = (str("GNU.sparse.map") ?? "").split(",");
    if (count < 0 || parts.length !== 2 * count) throw invalidArchive("malformed GNU sparse map");
    const map: SparseEntry[] = [];
    for (let i = 0; i < parts.length; i += 2) {
      map.push({
        offset: parsePaxInt(parts[i] as string, "sparse offset"),
        length: parsePaxInt(parts[i + 1] as string, "sparse length"),
      });
    }
    out.map = map;
    return out;
  }

  async #readSparseMap1x0(dataSize: number): Promise<{ map: SparseEntry[]; consumed: number }> {
    let text = "";
    let consumed = 0;
    let newlines = 0;
    const feed = async (n: number) => {
      while (newlines < n) {
        if (consumed + BLOCK > dataSize) throw unexpectedEof("a GNU sparse 1.0 map");
        if (consumed >= MAX_SPECIAL_FILE_SIZE) throw invalidArchive("GNU sparse 1.0 map is too large");
        const blk = await this.#readBlock("a GNU sparse 1.0 map");
        consumed += BLOCK;
        this.#bodyLeft -= BLOCK;
        const s = Buffer.from(blk).toString("latin1");
        for (const c of s) if (c === "\n") newlines++;
        text += s;
      }
    };
    let pos = 0;
    const token = () => {
      const nl = text.indexOf("\n", pos);
      const t = text.slice(pos, nl);
      pos = nl + 1;
      newlines--;
      return t;
    };
    this.#bodyLeft = dataSize;
    await feed(1);
    const count = parsePaxInt(token(), "sparse entry count");
    if (count < 0 || count > 1_000_000) throw invalidArchive("malformed GNU sparse 1.0 map");
    await feed(2 * count);
    const map: SparseEntry[] = [];
    for (let i = 0; i < count; i++) {
      map.push({ offset: parsePaxInt(token(), "sparse offset"), length: parsePaxInt(token(), "sparse length") });
    }
    return { map, consumed };
  }
}

function emptyHeader(): TarHeader {
  return {
    name: "",
    typeflag: TypeFlag.Reg,
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
    linkname: "",
    uname: "",
    gname: "",
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    pax: new Map(),
    dataSize: 0,
  };
}

function xattrsOf(pax: PaxRecords): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of pax) {
    if (k.startsWith(PAX_SCHILY_XATTR)) out.set(k.slice(PAX_SCHILY_XATTR.length), v);
  }
  return out;
}

/** Go's `validateSparseEntries`, plus: the fragments must add up to the stored data exactly. */
function validateSparse(map: readonly SparseEntry[], size: number, dataSize: number): void {
  if (size < 0) throw invalidArchive("negative sparse file size");
  let prevEnd = 0;
  let total = 0;
  for (const e of map) {
    if (e.offset < 0 || e.length < 0) throw invalidArchive("negative sparse entry");
    const end = e.offset + e.length;
    if (!Number.isSafeInteger(end) || end > size) throw invalidArchive("sparse entry beyond the file size");
    if (prevEnd > e.offset) throw invalidArchive("overlapping or unordered sparse entries");
    prevEnd = end;
    total += e.length;
  }
  if (total !== dataSize) throw invalidArchive(`sparse map covers ${total} bytes but the entry stores ${dataSize}`);
}

/** Parses a numeric field; exported for tests. */
export const parseNumericField = parseNumeric;
