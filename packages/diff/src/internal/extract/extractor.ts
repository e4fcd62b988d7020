/**
 * The layer extractor: applies tar entries inside a root directory that it treats as a jail.
 *
 * Every entry name is cleaned, split into parent and base, and the parent resolved inside the root
 * component by component ({@link resolveInRoot}); missing parents are created with mkdir, which never
 * follows a symlink. The final component is never followed either: regular files are created with
 * `O_CREAT|O_EXCL|O_NOFOLLOW` (after removing whatever was there) and get owner, mode and times through
 * their descriptor; other types are created by calls that do not follow (mkdir, symlink, link, mknod)
 * and get `lchown`, `lutimes`, and a chmod only after an lstat showed they are not symlinks. Extraction
 * is sequential and nothing else writes the root meanwhile, so a path verified this way stays valid until
 * it is used.
 */
import {
  chmodSync,
  closeSync,
  constants as fsc,
  fchmodSync,
  fchownSync,
  ftruncateSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  write as fsWrite,
  writeSync,
  type Stats,
} from "node:fs";
import { InvalidArgumentError, kindOf, withContext } from "@containerts/errdefs";
import type { Logger } from "@containerts/plugin-registry";
import { S_IFBLK, S_IFCHR, S_IFIFO, isSysError, lgetxattr, llistxattr, lsetxattr, makedev, mknod } from "@containerts/sys";
import type { TarHeader, TarReader } from "../tar/reader.js";
import { TypeFlag } from "../tar/format.js";
import { cleanPath, joinHost, resolveInRoot, splitPath, validateName } from "./resolve.js";

/** How device nodes (character and block devices) in a layer are handled. */
export type DeviceNodePolicy = "create" | "skip" | "reject";

/** Options of {@link extract}. */
export interface ExtractOptions {
  /** `naive` removes what whiteouts name; `overlay` writes overlayfs whiteouts and opaque xattrs. */
  readonly whiteouts: "naive" | "overlay";
  /** Lower directories (nearest first) whose directory metadata new parent directories copy. */
  readonly parents?: readonly string[];
  /** What to do with device nodes. */
  readonly deviceNodes: DeviceNodePolicy;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

const WH_PREFIX = ".wh.";
const WH_META_PREFIX = ".wh..wh.";
const WH_OPAQUE = ".wh..wh..opq";
const OPAQUE_XATTR = "trusted.overlay.opaque";

const O_CREATE_FILE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;
/** Writes larger than this go through the thread pool; smaller ones are synchronous. */
const ASYNC_WRITE_THRESHOLD = 64 * 1024;
/** Longest stretch of synchronous work before the extractor yields to the event loop. */
const YIELD_AFTER_MS = 4;
/** Go's maxTime for chtimes: times outside [epoch, 2262] become the epoch. */
const MAX_TIME_SECONDS = 9223372036.854775;

interface DirTimes {
  readonly path: string;
  readonly ino: number;
  readonly dev: number;
  readonly atime: number;
  readonly mtime: number;
}

function boundTime(t: number): number {
  return t < 0 || t > MAX_TIME_SECONDS ? 0 : t;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw err;
  }
}

function writeAsync(fd: number, buf: Uint8Array, position: number | null): Promise<number> {
  return new Promise((resolve, reject) => {
    fsWrite(fd, buf, 0, buf.byteLength, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

async function writeAll(fd: number, buf: Uint8Array, position: number | null): Promise<void> {
  let off = 0;
  while (off < buf.byteLength) {
    const part = buf.subarray(off);
    const pos = position === null ? null : position + off;
    const n = part.byteLength >= ASYNC_WRITE_THRESHOLD ? await writeAsync(fd, part, pos) : writeSync(fd, part, 0, part.byteLength, pos);
    off += n;
  }
}

/** Mode bits a tar header may set: permissions, setuid, setgid, sticky. */
function permBits(mode: number): number {
  return mode & 0o7777;
}

/**
 * Extracts a tar stream into `root`. Resolves when the archive ends (trailing data is left unread).
 *
 * @throws InvalidArgumentError for malformed archives and for entries that break the jail rules (names
 *   with NUL bytes or beyond Linux's limits, hardlinks to missing or directory targets, invalid
 *   whiteout names, device nodes under the `reject` policy).
 * @throws CanceledError when the signal aborts; other errors carry the entry name as context.
 */
export async function extract(root: string, reader: TarReader, options: ExtractOptions): Promise<void> {
  const ex = new Extractor(root, options);
  await ex.run(reader);
}

class Extractor {
  readonly #root: string;
  readonly #opts: ExtractOptions;
  readonly #dirs: DirTimes[] = [];
  readonly #unpacked = new Set<string>();
  /** Cleaned parent names → host paths of existing real directories. Cleared on every removal. */
  readonly #dirCache = new Map<string, string>();
  #lastYield = performance.now();

  constructor(root: string, opts: ExtractOptions) {
    this.#root = root;
    this.#opts = opts;
  }

  async run(reader: TarReader): Promise<void> {
    const st = lstatSync(this.#root);
    if (!st.isDirectory()) throw new InvalidArgumentError(`extraction root ${this.#root} is not a directory`);
    for (;;) {
      this.#opts.signal.throwIfAborted();
      const hdr = await reader.next();
      if (hdr === undefined) break;
      try {
        await this.#entry(hdr, reader);
      } catch (err) {
        if (kindOf(err) !== undefined) throw err;
        throw withContext(err, `failed to extract ${JSON.stringify(hdr.name)}`);
      }
      if (performance.now() - this.#lastYield > YIELD_AFTER_MS) {
        await new Promise((r) => setImmediate(r));
        this.#lastYield = performance.now();
      }
    }
    for (const d of this.#dirs) {
      const st = lstatOrUndefined(d.path);
      if (st === undefined || !st.isDirectory() || st.ino !== d.ino || st.dev !== d.dev) continue;
      lutimesSync(d.path, d.atime, d.mtime);
    }
  }

  async #entry(hdr: TarHeader, reader: TarReader): Promise<void> {
    const log = this.#opts.log;
    if (hdr.typeflag === TypeFlag.XGlobalHeader) {
      log.debug("PAX Global Extended Headers found and ignored");
      return;
    }
    validateName(hdr.name, "tar entry");
    if (hdr.typeflag === TypeFlag.Char || hdr.typeflag === TypeFlag.Block) {
      if (this.#opts.deviceNodes === "reject") {
        throw new InvalidArgumentError(`tar entry ${JSON.stringify(hdr.name)}: device nodes are not allowed here`);
      }
      if (this.#opts.deviceNodes === "skip") {
        log.warn(`file ${JSON.stringify(hdr.name)} ignored: archive may not be supported on system`, { name: hdr.name });
        return;
      }
    }
    const name = cleanPath(hdr.name);
    const [ppath, base] = splitPath(name);
    if (base === "" || base === "." || base === "..") {
      log.debug(`file ${JSON.stringify(hdr.name)} ignored: resolved to root`);
      return;
    }
    const parent = this.#parentDir(ppath);
    const path = `${parent === "/" ? "" : parent}/${base}`;

    if (base.startsWith(WH_PREFIX)) {
      this.#whiteout(hdr, parent, base);
      return;
    }

    const existing = lstatOrUndefined(path);
    if (existing !== undefined && !(existing.isDirectory() && hdr.typeflag === TypeFlag.Dir)) {
      this.#remove(path);
    }

    switch (hdr.typeflag) {
      case TypeFlag.Dir: {
        if (existing === undefined || !existing.isDirectory()) {
          mkdirSync(path, permBits(hdr.mode));
        }
        this.#finishPath(path, hdr, "dir");
        const st = lstatSync(path);
        this.#dirs.push({
          path,
          ino: st.ino,
          dev: st.dev,
          atime: boundTime(Math.max(hdr.atime ?? hdr.mtime, hdr.mtime)),
          mtime: boundTime(hdr.mtime),
        });
        break;
      }
      case TypeFlag.Reg:
      case TypeFlag.Cont:
      case TypeFlag.GNUSparse:
        await this.#regular(path, hdr, reader);
        break;
      case TypeFlag.Symlink:
        validateName(hdr.linkname, "symlink target");
        symlinkSync(hdr.linkname, path);
        this.#finishPath(path, hdr, "symlink");
        break;
      case TypeFlag.Link:
        linkSync(this.#hardlinkTarget(hdr), path);
        // The inode's owner, mode and times belong to the entry that created it; changing them through
        // a second name could reach an inode that is also linked from outside the root.
        break;
      case TypeFlag.Char:
      case TypeFlag.Block:
      case TypeFlag.Fifo: {
        const type = hdr.typeflag === TypeFlag.Char ? S_IFCHR : hdr.typeflag === TypeFlag.Block ? S_IFBLK : S_IFIFO;
        mknod(path, type | permBits(hdr.mode), type === S_IFIFO ? 0 : makedev(hdr.devmajor, hdr.devminor));
        this.#finishPath(path, hdr, "node");
        break;
      }
      default:
        throw new InvalidArgumentError(
          `unhandled tar header type ${hdr.typeflag.charCodeAt(0)} for ${JSON.stringify(hdr.name)}`,
        );
    }
    this.#unpacked.add(path);
  }

  /** Resolves (and creates when missing) the parent directory of an entry; returns its host path. */
  #parentDir(ppath: string): string {
    const cached = this.#dirCache.get(ppath);
    if (cached !== undefined) return cached;
    const r = resolveInRoot(this.#root, ppath, true);
    for (let i = r.existing; i < r.parts.length; i++) {
      const dir = joinHost(this.#root, r.parts.slice(0, i + 1));
      try {
        mkdirSync(dir, 0o755);
      } catch (err) {
        // Only our own sequential work changes the root, so EEXIST means a non-directory is there.
        throw withContext(err, `mkparent ${JSON.stringify(r.parts.slice(0, i + 1).join("/"))}`);
      }
      chmodSync(dir, 0o755);
      this.#copyParentInfo(dir, r.parts.slice(0, i + 1));
    }
    this.#dirCache.set(ppath, r.host);
    return r.host;
  }

  /** containerd's mkparent: a new directory copies owner, mode, times and xattrs from the first lower that has it. */
  #copyParentInfo(dir: string, parts: readonly string[]): void {
    const rel = parts.join("/");
    for (const lower of this.#opts.parents ?? []) {
      const lp = resolveInRoot(lower, rel, false).host;
      const st = lstatOrUndefined(lp);
      if (st === undefined) continue;
      if (!st.isDirectory()) break;
      lchownSync(dir, st.uid, st.gid);
      chmodSync(dir, st.mode & 0o7777);
      for (const name of safeListXattrs(lp)) {
        if (name.startsWith("trusted.")) continue;
        const v = lgetxattr(lp, name);
        if (v !== undefined) lsetxattr(dir, name, v);
      }
      lutimesSync(dir, st.atimeMs / 1000, st.mtimeMs / 1000);
      return;
    }
    this.#opts.log.debug(`parent directory ${JSON.stringify(dir)} not found: default permissions(0755) used`);
  }

  #remove(path: string): void {
    this.#dirCache.clear();
    rmSync(path, { recursive: true, force: true });
  }

  #whiteout(hdr: TarHeader, parent: string, base: string): void {
    const overlay = this.#opts.whiteouts === "overlay";
    if (base === WH_OPAQUE) {
      if (overlay) lsetxattr(parent, OPAQUE_XATTR, Buffer.from("y"));
      else this.#removeNotUnpacked(parent);
      return;
    }
    if (base.startsWith(WH_META_PREFIX)) {
      this.#opts.log.debug(`whiteout metadata entry ${JSON.stringify(hdr.name)} ignored`);
      return;
    }
    const original = base.slice(WH_PREFIX.length);
    if (original === "" || original === "." || original === "..") {
      throw new InvalidArgumentError(`invalid whiteout name: ${JSON.stringify(base)}: invalid archive`);
    }
    const target = `${parent === "/" ? "" : parent}/${original}`;
    if (overlay) {
      if (lstatOrUndefined(target) !== undefined) this.#remove(target);
      mknod(target, S_IFCHR, 0);
      lchownSync(target, hdr.uid, hdr.gid);
    } else if (lstatOrUndefined(target) !== undefined) {
      this.#remove(target);
    }
  }

  /** Naive opaque directory: removes everything under `dir` that this layer did not unpack. */
  #removeNotUnpacked(dir: string): void {
    const keepers = new Set<string>();
    for (const p of this.#unpacked) {
      let i = p.lastIndexOf("/");
      while (i > 0) {
        const anc = p.slice(0, i);
        if (keepers.has(anc)) break;
        keepers.add(anc);
        i = anc.lastIndexOf("/");
      }
    }
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const full = `${d}/${name}`;
        if (this.#unpacked.has(full) || keepers.has(full)) {
          if (lstatSync(full).isDirectory()) walk(full);
        } else {
          this.#remove(full);
        }
      }
    };
    walk(dir);
  }

  #hardlinkTarget(hdr: TarHeader): string {
    validateName(hdr.linkname, "hardlink target");
    const [lp, lbase] = splitPath(cleanPath(hdr.linkname));
    if (lbase === "" || lbase === "." || lbase === "..") {
      throw new InvalidArgumentError(`hardlink ${JSON.stringify(hdr.name)}: target ${JSON.stringify(hdr.linkname)} is the root`);
    }
    const r = resolveInRoot(this.#root, lp, true);
    if (r.existing !== r.parts.length) {
      throw new InvalidArgumentError(`hardlink ${JSON.stringify(hdr.name)}: target ${JSON.stringify(hdr.linkname)} does not exist`);
    }
    const target = `${r.host === "/" ? "" : r.host}/${lbase}`;
    const st = lstatOrUndefined(target);
    if (st === undefined) {
      throw new InvalidArgumentError(`hardlink ${JSON.stringify(hdr.name)}: target ${JSON.stringify(hdr.linkname)} does not exist`);
    }
    if (st.isDirectory()) {
      throw new InvalidArgumentError(`hardlink ${JSON.stringify(hdr.name)}: target ${JSON.stringify(hdr.linkname)} is a directory`);
    }
    return target;
  }

  async #regular(path: string, hdr: TarHeader, reader: TarReader): Promise<void> {
    const fd = openSync(path, O_CREATE_FILE, 0o600);
    try {
      if (hdr.sparse === undefined) {
        for await (const chunk of reader.body()) await writeAll(fd, chunk, null);
      } else {
        let i = 0;
        let fragLeft = hdr.sparse[0]?.length ?? 0;
        let pos = hdr.sparse[0]?.offset ?? 0;
        for await (let chunk of reader.body()) {
          while (chunk.byteLength > 0) {
            while (fragLeft === 0) {
              i++;
              const e = hdr.sparse[i];
              if (e === undefined) throw new InvalidArgumentError(`sparse file ${JSON.stringify(hdr.name)}: data beyond its map`);
              fragLeft = e.length;
              pos = e.offset;
            }
            const take = Math.min(fragLeft, chunk.byteLength);
            await writeAll(fd, chunk.subarray(0, take), pos);
            pos += take;
            fragLeft -= take;
            chunk = chunk.subarray(take);
          }
        }
        ftruncateSync(fd, hdr.size);
      }
      fchownSync(fd, hdr.uid, hdr.gid);
      this.#xattrs(path, hdr, true);
      fchmodSync(fd, permBits(hdr.mode));
      futimesSync(fd, boundTime(Math.max(hdr.atime ?? hdr.mtime, hdr.mtime)), boundTime(hdr.mtime));
    } finally {
      closeSync(fd);
    }
  }

  /** Owner, xattrs, mode (not for symlinks) and times of a just-created non-regular entry. */
  #finishPath(path: string, hdr: TarHeader, kind: "dir" | "symlink" | "node"): void {
    lchownSync(path, hdr.uid, hdr.gid);
    this.#xattrs(path, hdr, kind === "dir");
    if (kind !== "symlink") {
      // chmod follows symlinks: check the entry is still what was created.
      const st = lstatSync(path);
      if (st.isSymbolicLink()) throw new InvalidArgumentError(`${JSON.stringify(hdr.name)} changed into a symlink during extraction`);
      chmodSync(path, permBits(hdr.mode));
    }
    if (kind !== "dir") {
      lutimesSync(path, boundTime(Math.max(hdr.atime ?? hdr.mtime, hdr.mtime)), boundTime(hdr.mtime));
    }
  }

  #xattrs(path: string, hdr: TarHeader, regularOrDir: boolean): void {
    for (const [key, value] of hdr.xattrs) {
      if (key.startsWith("trusted.")) {
        this.#opts.log.warn(`ignored xattr ${key} in archive: admin attributes from archive not supported`, {
          name: hdr.name,
        });
        continue;
      }
      try {
        lsetxattr(path, key, value);
      } catch (err) {
        if (isSysError(err, "EPERM") && key.startsWith("user.") && !regularOrDir) {
          this.#opts.log.warn(`ignored xattr ${key} in archive`, { name: hdr.name, error: String(err) });
          continue;
        }
        if (isSysError(err, "ENOTSUP") || isSysError(err, "EOPNOTSUPP")) {
          this.#opts.log.warn(`ignored xattr ${key} in archive`, { name: hdr.name, error: String(err) });
          continue;
        }
        throw withContext(err, `failed to setxattr ${JSON.stringify(hdr.name)} for key ${JSON.stringify(key)}`);
      }
    }
  }
}

function safeListXattrs(path: string): string[] {
  try {
    return llistxattr(path);
  } catch (err) {
    if (isSysError(err, "ENOTSUP") || isSysError(err, "EOPNOTSUPP")) return [];
    throw err;
  }
}
