/**
 * The bundle of a runtime v2 task (containerd's `runtime/v2/bundle.go`): `<state>/<ns>/<id>` holding
 * `config.json`, `rootfs/`, the `work` symlink to `<root>/<ns>/<id>`, the `log` FIFO and what the shim
 * writes (`address`, `init.pid`, …).
 */
import { mkdir, readlink, rename, rm, rmdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { normalize, withContext } from "@containerts/errdefs";
import { validateIdentifier } from "@containerts/namespaces";
import { S_IFIFO, mknod, unmountAllAsync } from "@containerts/sys";

/** The bundle's file names. */
export const BundleFile = {
  Config: "config.json",
  Rootfs: "rootfs",
  Work: "work",
  Log: "log",
  Address: "address",
  ShimBinaryPath: "shim-binary-path",
} as const;

/** A task bundle on disk. */
export class Bundle {
  /** The task id. */
  readonly id: string;
  readonly namespace: string;
  /** `<state>/<ns>/<id>`. */
  readonly path: string;
  /** The work directory, `<root>/<ns>/<id>`. */
  readonly workPath: string;

  constructor(id: string, namespace: string, path: string, workPath: string) {
    this.id = id;
    this.namespace = namespace;
    this.path = path;
    this.workPath = workPath;
  }

  /** The bundle of an existing task (nothing is checked). */
  static load(root: string, state: string, namespace: string, id: string): Bundle {
    return new Bundle(id, namespace, join(state, namespace, id), join(root, namespace, id));
  }

  /**
   * Creates the bundle: `<state>/<ns>/<id>` (0700, parents 0711), `rootfs/` (0711), the work directory
   * `<root>/<ns>/<id>` (0711; a leftover one is replaced) with the `work` symlink to it, `config.json`
   * (`spec` verbatim, 0666 before umask) and the `log` FIFO. On failure everything created is removed.
   *
   * @throws InvalidArgumentError `invalid task id <id>: …` when the id is not an identifier;
   *   AlreadyExistsError when the bundle directory exists.
   */
  static async create(root: string, state: string, namespace: string, id: string, spec: Uint8Array): Promise<Bundle> {
    try {
      validateIdentifier(id);
    } catch (err) {
      throw withContext(err, `invalid task id ${id}`);
    }
    const b = Bundle.load(root, state, namespace, id);
    const work = b.workPath;
    const made: string[] = [];
    try {
      await mkdir(dirname(b.path), { recursive: true, mode: 0o711 });
      await mkdir(b.path, { mode: 0o700 });
      made.push(b.path);
      await mkdir(dirname(work), { recursive: true, mode: 0o711 });
      await mkdir(join(b.path, BundleFile.Rootfs), { mode: 0o711 });
      await rm(work, { recursive: true, force: true });
      await mkdir(work, { mode: 0o711 });
      made.push(work);
      await symlink(work, join(b.path, BundleFile.Work));
      await writeFile(join(b.path, BundleFile.Config), spec, { mode: 0o666 });
      mknod(join(b.path, BundleFile.Log), S_IFIFO | 0o700);
    } catch (err) {
      for (const d of made) await rm(d, { recursive: true, force: true }).catch(() => undefined);
      throw normalize(err);
    }
    return b;
  }

  /** The path of a file in the bundle. */
  file(name: string): string {
    return join(this.path, name);
  }

  /**
   * Deletes the bundle as containerd does: unmounts everything on `rootfs` (retrying EBUSY), removes it,
   * then renames the bundle to `.<id>` and removes it, and does the same for the work directory the `work`
   * link points to (or, when the link is gone, {@link workPath}). A bundle that is already gone is fine.
   */
  async delete(): Promise<void> {
    let work: string;
    try {
      work = await readlink(this.file(BundleFile.Work));
    } catch {
      work = this.workPath;
    }
    const rootfs = this.file(BundleFile.Rootfs);
    try {
      await unmountAllAsync(rootfs);
    } catch (err) {
      throw withContext(err, `unmount rootfs ${rootfs}`);
    }
    await rmdir(rootfs).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw withContext(err, "failed to remove bundle rootfs");
    });
    let first: unknown;
    try {
      await atomicDelete(this.path);
    } catch (err) {
      first = err;
    }
    await atomicDelete(work);
    if (first !== undefined) throw first;
  }
}

/** Renames `path` to `.<name>` in its directory, then removes it (a missing path is fine). */
export async function atomicDelete(path: string): Promise<void> {
  const hidden = join(dirname(path), `.${path.slice(dirname(path).length + 1)}`);
  try {
    await rename(path, hidden);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  await rm(hidden, { recursive: true, force: true });
}
