/**
 * du-like disk usage (continuity's `fs.DiskUsage`): every inode under the root, the root included, is
 * counted once (hard links share one), and its size is its allocated blocks × 512. An empty directory
 * on ext4 is therefore 4096 bytes and 1 inode.
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Context } from "@containerts/namespaces";
import type { Usage } from "../snapshotter.js";
import { throwIfCanceled } from "../storage/metastore.js";

/** Measures the disk usage of the tree at `root`. */
export async function diskUsage(ctx: Context, root: string): Promise<Usage> {
  const seen = new Set<string>();
  let size = 0n;
  const visit = async (path: string, isRoot: boolean): Promise<void> => {
    throwIfCanceled(ctx);
    let st;
    try {
      st = await lstat(path, { bigint: true });
    } catch (err) {
      // A file that disappears while we walk is no longer in use.
      if (!isRoot && (err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    const inode = `${st.dev}:${st.ino}`;
    if (!seen.has(inode)) {
      seen.add(inode);
      size += st.blocks * 512n;
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = await readdir(path);
      } catch (err) {
        if (!isRoot && (err as NodeJS.ErrnoException).code === "ENOENT") return;
        throw err;
      }
      for (const name of names) await visit(join(path, name), false);
    }
  };
  await visit(root, true);
  return { size: Number(size), inodes: seen.size };
}
