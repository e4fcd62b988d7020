/**
 * A faithful directory copy (continuity's `fs.CopyDir`, used by the native snapshotter): regular files,
 * directories, symlinks, hard links (kept as links within the copy), character and block devices, FIFOs
 * and sockets, with modes (setuid/setgid/sticky included), owners, access and modification times and
 * extended attributes. The root directory's own attributes are copied onto `dst`.
 */
import { constants, type BigIntStats } from "node:fs";
import { chmod, copyFile, lchown, link, lstat, lutimes, mkdir, readdir, readlink, symlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { InternalError } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { lgetxattr, llistxattr, lsetxattr, mknod } from "@containerts/sys";
import { throwIfCanceled } from "../storage/metastore.js";

/** Options of {@link copyDir}. */
export interface CopyDirOptions {
  /**
   * Called when an extended attribute cannot be read or written (for example `security.*`, which often
   * cannot be set). The default ignores the failure, as containerd's native snapshotter does; throw to
   * abort the copy.
   */
  readonly onXattrError?: (path: string, name: string, err: unknown) => void;
}

const S_IFMT = 0o170000n;
const S_IFSOCK = 0o140000n;
const S_IFLNK = 0o120000n;
const S_IFREG = 0o100000n;
const S_IFBLK = 0o060000n;
const S_IFDIR = 0o040000n;
const S_IFCHR = 0o020000n;
const S_IFIFO = 0o010000n;

/** Seconds (with fraction) of a nanosecond timestamp, the most precise form `utimes` takes. */
const seconds = (ns: bigint): number => Number(ns / 1000n) / 1e6;

/**
 * Copies the tree at `src` into the existing directory `dst`. `dst` must be empty (the native snapshotter
 * copies into a fresh `new-*` directory).
 */
export async function copyDir(ctx: Context, src: string, dst: string, options: CopyDirOptions = {}): Promise<void> {
  const onXattrError = options.onXattrError ?? (() => undefined);
  // Hard links: first path copied for each source inode.
  const inodes = new Map<string, string>();

  const copyXattrs = (from: string, to: string): void => {
    let names: string[];
    try {
      names = llistxattr(from);
    } catch (err) {
      onXattrError(from, "", err);
      return;
    }
    for (const name of names) {
      try {
        const value = lgetxattr(from, name);
        if (value !== undefined) lsetxattr(to, name, value);
      } catch (err) {
        onXattrError(from, name, err);
      }
    }
  };

  // Owner, then mode (chown clears setuid/setgid), xattrs, then times (last, since the rest touch ctime
  // only, but writing children into a directory changes its mtime).
  const copyInfo = async (from: string, to: string, st: BigIntStats, isLink: boolean): Promise<void> => {
    await lchown(to, Number(st.uid), Number(st.gid));
    if (!isLink) await chmod(to, Number(st.mode & 0o7777n));
    copyXattrs(from, to);
    if (isLink) await lutimes(to, seconds(st.atimeNs), seconds(st.mtimeNs));
    else await utimes(to, seconds(st.atimeNs), seconds(st.mtimeNs));
  };

  const copyEntry = async (from: string, to: string, st: BigIntStats): Promise<void> => {
    throwIfCanceled(ctx);
    const type = st.mode & S_IFMT;
    if (type !== S_IFDIR && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first !== undefined) {
        await link(first, to);
        return;
      }
      inodes.set(key, to);
    }
    switch (type) {
      case S_IFDIR:
        await mkdir(to, { mode: 0o700 });
        await copyChildren(from, to);
        await copyInfo(from, to, st, false);
        return;
      case S_IFREG:
        await copyFile(from, to, constants.COPYFILE_FICLONE);
        await copyInfo(from, to, st, false);
        return;
      case S_IFLNK:
        await symlink(await readlink(from), to);
        await copyInfo(from, to, st, true);
        return;
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO:
      case S_IFSOCK:
        mknod(to, Number(type | (st.mode & 0o7777n)), Number(st.rdev));
        await copyInfo(from, to, st, false);
        return;
      default:
        throw new InternalError(`copy ${from}: unsupported file type ${type.toString(8)}`);
    }
  };

  const copyChildren = async (from: string, to: string): Promise<void> => {
    for (const name of await readdir(from)) {
      const f = join(from, name);
      await copyEntry(f, join(to, name), await lstat(f, { bigint: true }));
    }
  };

  const rootStat = await lstat(src, { bigint: true });
  await copyChildren(src, dst);
  await copyInfo(src, dst, rootStat, false);
}
