/**
 * The `snapshots/` directory of a snapshotter root: one directory per snapshot id, plus transient
 * `new-<random>` (being built, renamed to `<id>` once complete) and `rm-<id>` (being deleted) entries.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";

/** Prefix of a snapshot directory under construction. */
export const NEW_PREFIX = "new-";
/** Prefix of a snapshot directory being deleted. */
export const REMOVE_PREFIX = "rm-";

/** The `snapshots/` directory of one snapshotter and the deletions in progress in this process. */
export class SnapshotDirectories {
  readonly #deleting = new Set<string>();
  /**
   * The permission bits that survive `mkdir` under a `new-*` directory (what the umask and any default
   * ACL leave of 0777), learnt by {@link init}; 0 until then, so that every mode is set explicitly.
   */
  #kept = 0;
  /** The owner a directory created under a `new-*` directory gets (learnt by {@link init}). */
  #owner: { readonly uid: number; readonly gid: number } | undefined;

  /** `dir` is `<snapshotter root>/snapshots`. */
  constructor(readonly dir: string) {}

  /**
   * Creates the directory (0700) when it does not exist, and learns which permission bits `mkdir` keeps
   * there and which owner it gives (a probe directory, removed again), so that {@link makeDir} and
   * {@link makeTemp} set a mode with an extra `chmod` only when the umask would strip some of its bits,
   * and {@link ownedBy} tells when an `lchown` would change nothing.
   */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const td = await mkdtemp(join(this.dir, NEW_PREFIX));
    try {
      const probe = join(td, "probe");
      await mkdir(probe, { mode: 0o777 });
      const st = await stat(probe);
      // An inherited setgid bit (a setgid parent) is not what was asked for: then always chmod.
      this.#kept = (st.mode & 0o7000) === 0 ? st.mode & 0o777 : 0;
      this.#owner = { uid: st.uid, gid: st.gid };
    } finally {
      await rm(td, { recursive: true, force: true });
    }
  }

  /** The directory of snapshot `id`. */
  path(id: string): string {
    return join(this.dir, id);
  }

  /**
   * Creates a fresh `new-<random>` directory and returns its path: mode 0700 by default (as
   * `mkdtemp`), or exactly `mode`.
   */
  async makeTemp(mode?: number): Promise<string> {
    if (mode === undefined) return mkdtemp(join(this.dir, NEW_PREFIX));
    if (!this.#keeps(mode)) {
      const td = await mkdtemp(join(this.dir, NEW_PREFIX));
      await chmod(td, mode);
      return td;
    }
    // One call instead of mkdtemp + chmod: the random name as mkdtemp makes it, retried on a collision.
    for (;;) {
      const td = join(this.dir, `${NEW_PREFIX}${randomBytes(6).toString("base64url")}`);
      try {
        await mkdir(td, { mode });
        return td;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
  }

  /**
   * Creates directory `path` with exactly the permission bits `mode`: a plain `mkdir` when the umask
   * keeps them all (the usual 022 keeps 0755 and 0711), `mkdir` and `chmod` otherwise.
   */
  async makeDir(path: string, mode: number): Promise<void> {
    await mkdir(path, { mode });
    if (!this.#keeps(mode)) await chmod(path, mode);
  }

  /**
   * Whether a directory created (by {@link makeDir}) inside a `new-*` directory is owned by `uid`:`gid`
   * already. False until {@link init} has run.
   */
  ownedBy(uid: number, gid: number): boolean {
    return this.#owner !== undefined && this.#owner.uid === uid && this.#owner.gid === gid;
  }

  /** Whether `mkdir(…, mode)` yields exactly `mode` here. */
  #keeps(mode: number): boolean {
    return (mode & ~0o777) === 0 && (mode & this.#kept) === mode;
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
