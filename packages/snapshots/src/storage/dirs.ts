/**
 * The `snapshots/` directory of a snapshotter root: one directory per snapshot id, plus transient
 * `new-<random>` (being built, renamed to `<id>` once complete) and `rm-<id>` (being deleted) entries.
 */
import { mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";

/** Prefix of a snapshot directory under construction. */
export const NEW_PREFIX = "new-";
/** Prefix of a snapshot directory being deleted. */
export const REMOVE_PREFIX = "rm-";

/** The `snapshots/` directory of one snapshotter and the deletions in progress in this process. */
export class SnapshotDirectories {
  readonly #deleting = new Set<string>();

  /** `dir` is `<snapshotter root>/snapshots`. */
  constructor(readonly dir: string) {}

  /** Creates the directory (0700) when it does not exist. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /** The directory of snapshot `id`. */
  path(id: string): string {
    return join(this.dir, id);
  }

  /** Creates a fresh `new-<random>` directory (mode 0700) and returns its path. */
  makeTemp(): Promise<string> {
    return mkdtemp(join(this.dir, NEW_PREFIX));
  }

  /**
   * The entries of `snapshots/` that no id in `ids` refers to and that this process is not already
   * deleting: leftovers of crashes (`new-*`, `rm-*`, a renamed directory whose record never landed) and
   * directories of removed snapshots. Must be called while no write transaction can create directories.
   */
  async unreferenced(ids: ReadonlyMap<string, string>): Promise<string[]> {
    const names = await readdir(this.dir);
    return names.filter((n) => !ids.has(n) && !this.#deleting.has(join(this.dir, n))).map((n) => join(this.dir, n));
  }

  /** Marks `path` as being deleted by this process, so {@link unreferenced} skips it. */
  claim(path: string): void {
    this.#deleting.add(path);
  }

  /**
   * Deletes claimed directories. Failures are swallowed: the directory stays unreferenced and the next
   * cleanup retries it (the snapshot records are already gone, so nothing depends on it).
   */
  async discard(paths: readonly string[]): Promise<void> {
    for (const p of paths) {
      this.#deleting.add(p);
      try {
        await rm(p, { recursive: true, force: true, maxRetries: 2 });
      } catch {
        // Left for the next cleanup.
      } finally {
        this.#deleting.delete(p);
      }
    }
  }

  /** Renames the directory of `id` to `rm-<id>` and claims it; returns the new path, or undefined if absent. */
  async retire(id: string): Promise<string | undefined> {
    const target = join(this.dir, `${REMOVE_PREFIX}${id}`);
    try {
      await rename(this.path(id), target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    this.claim(target);
    return target;
  }
}
