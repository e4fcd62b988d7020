/**
 * du-like disk usage (continuity's `fs.DiskUsage`): every inode under the root, the root included, is
 * counted once (hard links share one), and its size is its allocated blocks × 512. An empty directory
 * on ext4 is therefore 4096 bytes and 1 inode.
 */
import type { BigIntStats, Dirent } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Context } from "@containerts/namespaces";
import type { Usage } from "../snapshotter.js";
import { throwIfCanceled } from "../storage/metastore.js";

/**
 * Filesystem calls in flight at once. Each call is a thread-pool round trip: issued one after another,
 * a tree of n entries costs n round trips end to end; issued together, their completions are handled in
 * a few event-loop turns. The bound keeps a huge directory from flooding the thread pool.
 */
const CONCURRENCY = 32;

function isEnoent(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === "ENOENT";
}

/** Measures the disk usage of the tree at `root`. */
export async function diskUsage(ctx: Context, root: string): Promise<Usage> {
  const seen = new Set<string>();
  let size = 0n;
  let running = 0;
  const queue: (() => void)[] = [];

  /** Runs the filesystem call `fn` once fewer than CONCURRENCY calls are in flight. */
  const limited = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= CONCURRENCY) await new Promise<void>((resolve) => queue.push(resolve));
    running++;
    try {
      throwIfCanceled(ctx);
      return await fn();
    } finally {
      running--;
      queue.shift()?.();
    }
  };

  const account = (st: BigIntStats): void => {
    const inode = `${st.dev}:${st.ino}`;
    if (!seen.has(inode)) {
      seen.add(inode);
      size += st.blocks * 512n;
    }
  };

  /**
   * Accounts the entries of directory `dir` and descends into its subdirectories. A subdirectory's
   * listing is read together with its own lstat (the entry type tells it is one); an entry that
   * disappears meanwhile is no longer in use and is skipped.
   */
  const visitEntries = async (dir: string, entries: readonly Dirent[]): Promise<void> => {
    await Promise.all(
      entries.map(async (entry) => {
        const path = join(dir, entry.name);
        const listed = entry.isDirectory() ? limited(() => readdir(path, { withFileTypes: true })) : undefined;
        // Settled before anything is thrown, so no listing is left unobserved.
        const [st, children] = await Promise.allSettled([limited(() => lstat(path, { bigint: true })), listed]);
        if (st.status === "rejected") {
          if (isEnoent(st.reason)) return;
          throw st.reason;
        }
        account(st.value);
        if (!st.value.isDirectory()) return;
        let names: readonly Dirent[];
        if (listed !== undefined && children.status === "fulfilled" && children.value !== undefined) {
          names = children.value;
        } else if (listed !== undefined && children.status === "rejected") {
          if (isEnoent(children.reason)) return;
          throw children.reason;
        } else {
          // The entry type did not say directory (a file system without d_type, or a replaced entry).
          try {
            names = await limited(() => readdir(path, { withFileTypes: true }));
          } catch (err) {
            if (isEnoent(err)) return;
            throw err;
          }
        }
        await visitEntries(path, names);
      }),
    );
  };

  throwIfCanceled(ctx);
  // The root's listing is read together with its lstat, and used only if the root is a directory.
  const [st, listing] = await Promise.allSettled([
    lstat(root, { bigint: true }),
    readdir(root, { withFileTypes: true }),
  ]);
  if (st.status === "rejected") throw st.reason;
  account(st.value);
  if (st.value.isDirectory()) {
    if (listing.status === "rejected") throw listing.reason;
    await visitEntries(root, listing.value);
  }
  return { size: Number(size), inodes: seen.size };
}
