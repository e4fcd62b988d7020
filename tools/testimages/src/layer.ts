/**
 * A layer under construction: an ordered list of tar entries with parent directories added on demand,
 * plus the overlay whiteout conventions of the OCI image spec (`.wh.<name>`, `.wh..wh..opq`).
 */
import { createHash } from "node:crypto";
import { chmod, link, mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { type TarEntry, writeTar } from "./tar.js";

/** A finished layer: its uncompressed and gzip bytes with their digests. */
export interface BuiltLayer {
  /** The uncompressed tar. */
  readonly tar: Buffer;
  /** The gzip-compressed tar. */
  readonly gzip: Buffer;
  /** `sha256:<hex>` of the uncompressed tar (the config's diff ID). */
  readonly diffId: string;
  /** `sha256:<hex>` of the gzip bytes (the manifest's layer digest when compressed). */
  readonly gzipDigest: string;
  /** The entries, in archive order. */
  readonly entries: readonly TarEntry[];
}

/** `sha256:<hex>` of some bytes. */
export function sha256(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Builds the entries of one layer in a fixed order. */
export class LayerBuilder {
  readonly #entries: TarEntry[] = [];
  readonly #dirs = new Set<string>();

  #parents(path: string): void {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) this.dir(parts.slice(0, i).join("/"));
  }

  /** Adds a directory (and its parents), once. */
  dir(path: string, mode = 0o755): this {
    const p = clean(path);
    if (p === "" || this.#dirs.has(p)) return this;
    this.#parents(p);
    this.#dirs.add(p);
    this.#entries.push({ path: p, type: "dir", mode });
    return this;
  }

  /** Adds a regular file. */
  file(path: string, data: Uint8Array | string, mode = 0o644): this {
    const p = clean(path);
    this.#parents(p);
    this.#entries.push({ path: p, type: "file", mode, data: typeof data === "string" ? Buffer.from(data) : data });
    return this;
  }

  /** Adds a symbolic link to `target` (kept as written: relative or absolute). */
  symlink(path: string, target: string): this {
    const p = clean(path);
    this.#parents(p);
    this.#entries.push({ path: p, type: "symlink", mode: 0o777, linkname: target });
    return this;
  }

  /** Adds a hard link to `target`, a path written earlier in this layer. */
  hardlink(path: string, target: string, mode = 0o644): this {
    const p = clean(path);
    this.#parents(p);
    this.#entries.push({ path: p, type: "hardlink", mode, linkname: clean(target) });
    return this;
  }

  /** Removes `path` (a file or a whole directory) of the layers below: an empty `.wh.<name>` file. */
  whiteout(path: string): this {
    const p = clean(path);
    const slash = p.lastIndexOf("/");
    const parent = slash < 0 ? "" : p.slice(0, slash + 1);
    return this.file(`${parent}.wh.${p.slice(slash + 1)}`, new Uint8Array(0));
  }

  /** Hides everything the layers below have under `dir`: the directory plus `.wh..wh..opq`. */
  opaque(dir: string, mode = 0o755): this {
    this.dir(dir, mode);
    return this.file(`${clean(dir)}/.wh..wh..opq`, new Uint8Array(0));
  }

  /** The entries so far. */
  entries(): readonly TarEntry[] {
    return this.#entries;
  }

  /** Serializes the layer and compresses it (gzip level 6; zlib's header carries no time or name). */
  build(): BuiltLayer {
    const tar = writeTar(this.#entries);
    const gzip = gzipSync(tar, { level: 6 });
    return { tar, gzip, diffId: sha256(tar), gzipDigest: sha256(gzip), entries: [...this.#entries] };
  }
}

function clean(path: string): string {
  return path.replace(/^\/+/, "").replace(/\/+$/, "");
}

/**
 * Writes a layer's entries into `root` as a plain directory tree (whiteout files are written as they
 * are, not applied). Used to make an unpacked root file system without a snapshotter.
 */
export async function materialize(entries: readonly TarEntry[], root: string): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const e of entries) {
    const target = join(root, e.path);
    await mkdir(dirname(target), { recursive: true });
    switch (e.type) {
      case "dir":
        await mkdir(target, { recursive: true });
        await chmod(target, e.mode);
        break;
      case "file":
        await writeFile(target, e.data ?? new Uint8Array(0), { mode: e.mode });
        await chmod(target, e.mode);
        break;
      case "symlink":
        await symlink(e.linkname ?? "", target);
        break;
      case "hardlink":
        await link(join(root, e.linkname ?? ""), target);
        break;
    }
  }
}
