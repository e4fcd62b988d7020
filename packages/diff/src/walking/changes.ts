/**
 * Filesystem changes between two directory trees by walking both at once (continuity's
 * `doubleWalkDiff`, which containerd's walking differ uses), in lexical order, parents before children.
 */
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from "node:fs";
import { open } from "node:fs/promises";
import { isSysError, lgetxattr, llistxattr } from "@containerts/sys";

/** The kind of a change. `unmodified` is only reported for hardlinked files (their links matter). */
export type ChangeKind = "add" | "modify" | "delete" | "unmodified";

/** One change: a path (`/a/b`, relative to the trees' roots) and, except for deletions, its upper stat. */
export interface Change {
  readonly kind: ChangeKind;
  readonly path: string;
  readonly stat?: BigIntStats;
  /** Set on a directory that is opaque in an overlay upper directory (its lower content is hidden). */
  readonly opaque?: boolean;
}

/** Options of {@link changes}. */
export interface ChangesOptions {
  /** Tells whether the upper directory at `path` is an overlay opaque directory. */
  readonly isOpaque?: (path: string) => boolean;
  readonly signal?: AbortSignal;
}

/** Extended attributes carried into layers: all but `trusted.*` and the host's SELinux labels. */
export function portableXattr(name: string): boolean {
  return !name.startsWith("trusted.") && name !== "security.selinux";
}

/** The portable xattrs of a path, sorted by name; unsupported filesystems have none. */
export function readXattrs(path: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let names: string[];
  try {
    names = llistxattr(path);
  } catch (err) {
    if (isSysError(err, "ENOTSUP") || isSysError(err, "EOPNOTSUPP")) return out;
    throw err;
  }
  for (const n of names.filter(portableXattr).sort()) {
    const v = lgetxattr(path, n);
    if (v !== undefined) out.set(n, v);
  }
  return out;
}

function sameXattrs(a: string, b: string): boolean {
  const xa = readXattrs(a);
  const xb = readXattrs(b);
  if (xa.size !== xb.size) return false;
  for (const [k, v] of xa) {
    const w = xb.get(k);
    if (w === undefined || !w.equals(v)) return false;
  }
  return true;
}

async function sameContent(a: string, b: string): Promise<boolean> {
  const fa = await open(a, "r");
  try {
    const fb = await open(b, "r");
    try {
      const ba = Buffer.allocUnsafe(256 * 1024);
      const bb = Buffer.allocUnsafe(256 * 1024);
      for (;;) {
        const [ra, rb] = await Promise.all([fa.read(ba, 0, ba.byteLength, null), fb.read(bb, 0, bb.byteLength, null)]);
        if (ra.bytesRead !== rb.bytesRead) return false;
        if (ra.bytesRead === 0) return true;
        if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
      }
    } finally {
      await fb.close();
    }
  } finally {
    await fa.close();
  }
}

const S_IFMT = 0o170000n;
const S_IFDIR = 0o040000n;
const S_IFLNK = 0o120000n;

/** continuity's `sameFile`: same inode, or same metadata, size, time (and content when times were truncated). */
async function sameFile(lp: string, ls: BigIntStats, up: string, us: BigIntStats): Promise<boolean> {
  if (ls.dev === us.dev && ls.ino === us.ino) return true;
  if (ls.mode !== us.mode || ls.uid !== us.uid || ls.gid !== us.gid || ls.rdev !== us.rdev) return false;
  if (!sameXattrs(lp, up)) return false;
  if ((us.mode & S_IFMT) === S_IFDIR) return true;
  if (ls.size !== us.size) return false;
  const ln = ls.mtimeNs;
  const un = us.mtimeNs;
  if (ln / 1_000_000_000n !== un / 1_000_000_000n) return false;
  if (ln % 1_000_000_000n === 0n && un % 1_000_000_000n === 0n) {
    if ((us.mode & S_IFMT) === S_IFLNK) return readlinkSync(lp) === readlinkSync(up);
    if (us.size === 0n) return true;
    return sameContent(lp, up);
  }
  return ln === un;
}

function sortedNames(dir: string): string[] {
  const names = readdirSync(dir);
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names;
}

const isDir = (s: BigIntStats) => (s.mode & S_IFMT) === S_IFDIR;

/**
 * Yields the changes that turn `lower` into `upper`: additions and modifications (with the upper stat),
 * deletions (their children are not listed), and `unmodified` hardlinked files. Directories come before
 * their content.
 */
export async function* changes(lower: string, upper: string, options: ChangesOptions = {}): AsyncGenerator<Change> {
  const { isOpaque, signal } = options;
  async function* walk(rel: string, lowerPresent: boolean): AsyncGenerator<Change> {
    signal?.throwIfAborted();
    const ud = upper + rel;
    const ld = lower + rel;
    const un = sortedNames(ud);
    const ln = lowerPresent ? sortedNames(ld) : [];
    let i = 0;
    let j = 0;
    while (i < ln.length || j < un.length) {
      const l = ln[i];
      const u = un[j];
      if (u === undefined || (l !== undefined && l < u)) {
        yield { kind: "delete", path: `${rel}/${l}` };
        i++;
        continue;
      }
      const path = `${rel}/${u}`;
      const us = lstatSync(upper + path, { bigint: true });
      if (l === undefined || u < l) {
        yield { kind: "add", path, stat: us };
        if (isDir(us)) yield* walk(path, false);
        j++;
        continue;
      }
      i++;
      j++;
      const ls = lstatSync(lower + path, { bigint: true });
      const opaque = isDir(us) && isDir(ls) && isOpaque?.(path) === true;
      if (opaque) {
        yield { kind: "modify", path, stat: us, opaque: true };
        yield* walk(path, false);
        continue;
      }
      if ((ls.mode & S_IFMT) !== (us.mode & S_IFMT)) {
        yield { kind: "modify", path, stat: us };
        if (isDir(us)) yield* walk(path, false);
        continue;
      }
      if (await sameFile(lower + path, ls, upper + path, us)) {
        if (!isDir(us) && us.nlink > 1n) yield { kind: "unmodified", path, stat: us };
      } else {
        yield { kind: "modify", path, stat: us };
      }
      if (isDir(us)) yield* walk(path, true);
    }
    await new Promise((r) => setImmediate(r));
  }
  yield* walk("", true);
}
