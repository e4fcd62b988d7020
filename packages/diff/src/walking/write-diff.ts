/**
 * Writes the changes between two trees as an OCI layer tar stream (containerd's `archive.WriteDiff` with
 * its `ChangeWriter`): PAX headers, deletions as `.wh.<name>` entries, parent directories included before
 * their content, hardlinks kept as links, overlay opaque directories as `.wh..wh..opq`.
 */
import { lstatSync, readlinkSync, type BigIntStats } from "node:fs";
import { open } from "node:fs/promises";
import { UnknownError } from "@containerts/errdefs";
import { major, minor } from "@containerts/sys";
import { TypeFlag } from "../internal/tar/format.js";
import { dataPadding, encodeHeader, endOfArchive, type TarWriteHeader } from "../internal/tar/writer.js";
import { changes, readXattrs, type ChangesOptions } from "./changes.js";

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** Output chunks are gathered up to this size (headers are 512 bytes each). */
const CHUNK = 256 * 1024;
const READ_CHUNK = 1024 * 1024;

function typeflagOf(mode: number): string | undefined {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return TypeFlag.Reg;
    case S_IFDIR:
      return TypeFlag.Dir;
    case S_IFLNK:
      return TypeFlag.Symlink;
    case S_IFCHR:
      return TypeFlag.Char;
    case S_IFBLK:
      return TypeFlag.Block;
    case S_IFIFO:
      return TypeFlag.Fifo;
    default:
      return undefined; // sockets are not carried in layers
  }
}

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

/**
 * Yields the layer tar that turns `lower` into `upper`, in chunks of up to 256 KiB, ending with the
 * end-of-archive marker.
 */
export async function* writeDiff(lower: string, upper: string, options: ChangesOptions = {}): AsyncGenerator<Buffer> {
  const whiteoutTime = Math.floor(Date.now() / 1000);
  const addedDirs = new Set<string>();
  const inodeSrc = new Map<string, string>();
  const inodeRefs = new Map<string, string[]>();
  let pending: Buffer[] = [];
  let pendingLen = 0;

  const push = (b: Buffer): Buffer | undefined => {
    pending.push(b);
    pendingLen += b.byteLength;
    if (pendingLen < CHUNK) return undefined;
    const out = Buffer.concat(pending, pendingLen);
    pending = [];
    pendingLen = 0;
    return out;
  };

  const headerFor = (path: string, st: BigIntStats): TarWriteHeader | undefined => {
    const mode = Number(st.mode);
    const typeflag = typeflagOf(mode);
    if (typeflag === undefined) return undefined;
    const full = upper + path;
    let name = path.slice(1);
    if (typeflag === TypeFlag.Dir) name += "/";
    const dev = Number(st.rdev);
    return {
      name,
      typeflag,
      mode: mode & 0o7777,
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: typeflag === TypeFlag.Reg ? Number(st.size) : 0,
      mtime: Number(st.mtimeNs / 1_000_000_000n),
      ...(typeflag === TypeFlag.Symlink ? { linkname: readlinkSync(full) } : {}),
      ...(typeflag === TypeFlag.Char || typeflag === TypeFlag.Block ? { devmajor: major(dev), devminor: minor(dev) } : {}),
      xattrs: readXattrs(full),
    };
  };

  /** containerd's includeParents: the parent directory's header before its first changed child. */
  function* includeParents(path: string, isDirEntry: boolean): Generator<Buffer> {
    const parent = dirname(path);
    if (parent !== "/" && !addedDirs.has(parent)) {
      addedDirs.add(parent);
      const st = lstatSync(upper + parent, { bigint: true });
      yield* includeParents(parent, true);
      const h = headerFor(parent, st);
      if (h !== undefined) yield encodeHeader(h);
    }
    if (isDirEntry) addedDirs.add(path);
  }

  for await (const c of changes(lower, upper, options)) {
    const out: Buffer[] = [];
    if (c.kind === "delete") {
      const name = `${dirname(c.path)}/.wh.${c.path.slice(c.path.lastIndexOf("/") + 1)}`.replace(/^\/+/, "");
      out.push(...includeParents(c.path, false));
      out.push(encodeHeader({ name, typeflag: TypeFlag.Reg, mode: 0, size: 0, mtime: whiteoutTime }));
    } else {
      const st = c.stat as BigIntStats;
      const h0 = headerFor(c.path, st);
      if (h0 === undefined) continue;
      let h: TarWriteHeader = h0;
      let extraLinks: string[] = [];
      if (h.typeflag !== TypeFlag.Dir && st.nlink > 1n) {
        const inode = `${st.dev}:${st.ino}`;
        const src = inodeSrc.get(inode);
        if (src !== undefined) {
          h = { ...h, typeflag: TypeFlag.Link, linkname: src, size: 0, xattrs: new Map() };
        } else if (c.kind === "unmodified") {
          const refs = inodeRefs.get(inode) ?? [];
          refs.push(h.name);
          inodeRefs.set(inode, refs);
          continue;
        } else {
          inodeSrc.set(inode, h.name);
          extraLinks = inodeRefs.get(inode) ?? [];
          inodeRefs.delete(inode);
        }
      } else if (c.kind === "unmodified") {
        continue;
      }
      out.push(...includeParents(c.path, h.typeflag === TypeFlag.Dir));
      out.push(encodeHeader(h));
      if (c.opaque === true) {
        out.push(encodeHeader({ name: `${h.name}.wh..wh..opq`, typeflag: TypeFlag.Reg, mode: 0, size: 0, mtime: whiteoutTime }));
      }
      for (const b of out) {
        const chunk = push(b);
        if (chunk !== undefined) yield chunk;
      }
      out.length = 0;
      if (h.typeflag === TypeFlag.Reg && (h.size ?? 0) > 0) {
        const size = h.size ?? 0;
        const fh = await open(upper + c.path, "r");
        try {
          let done = 0;
          while (done < size) {
            const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - done));
            const { bytesRead } = await fh.read(buf, 0, buf.byteLength, done);
            if (bytesRead === 0) throw new UnknownError(`failed to copy ${c.path}: short read (file changed during diff)`, { bare: true });
            done += bytesRead;
            const chunk = push(buf.subarray(0, bytesRead));
            if (chunk !== undefined) yield chunk;
          }
        } finally {
          await fh.close();
        }
        out.push(dataPadding(size));
      }
      for (const extra of extraLinks) {
        out.push(...includeParents(`/${extra}`, false));
        out.push(encodeHeader({ ...h, name: extra, typeflag: TypeFlag.Link, linkname: h.name, size: 0, xattrs: new Map() }));
      }
    }
    for (const b of out) {
      const chunk = push(b);
      if (chunk !== undefined) yield chunk;
    }
  }
  pending.push(endOfArchive());
  yield Buffer.concat(pending);
}
