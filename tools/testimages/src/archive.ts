/**
 * Image archives in the three layouts `ctr images import` reads: an OCI image layout (`oci`), the classic
 * `docker save` layout (`docker`: `manifest.json`, `repositories`, `<id>/layer.tar`), and the layout of
 * `docker save` since Docker 25 (`docker-oci`: an OCI layout that also carries `manifest.json`).
 */
import { rename, rm, writeFile } from "node:fs/promises";
import { InvalidArgumentError } from "@containerts/errdefs";
import { type BuiltLayer, sha256 } from "./layer.js";
import { FIXED_MTIME, type TarEntry, writeTar } from "./tar.js";

/** The layout of an image archive. */
export type ArchiveFormat = "oci" | "docker" | "docker-oci";

/** How layers are stored in the archive. */
export type LayerCompression = "gzip" | "none";

/** What the image config says about how to run the image. */
export interface ImageRunConfig {
  /** Default `["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]`. */
  readonly env?: readonly string[];
  /** Default `["sh"]`. */
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  /** Default `/`. */
  readonly workingDir?: string;
  readonly user?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Options shared by every image builder. */
export interface ArchiveOptions {
  /** Full image reference, for example `docker.io/library/busybox:latest`. */
  readonly name?: string;
  /** Default `oci`. */
  readonly format?: ArchiveFormat;
  /** Default `gzip` for `oci`, `none` for the two docker layouts (as `docker save` writes them). */
  readonly compression?: LayerCompression;
  /** GOARCH of the image. Default: the host's. */
  readonly architecture?: string;
  readonly config?: ImageRunConfig;
}

/** One layer as written to the archive. */
export interface ArchiveLayer {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly diffId: string;
  /** Number of entries in the layer tar. */
  readonly entries: number;
}

/** What a builder wrote. */
export interface ImageArchive {
  /** The archive file. */
  readonly path: string;
  readonly name: string;
  readonly format: ArchiveFormat;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layers: readonly ArchiveLayer[];
  /** Size of the archive file in bytes. */
  readonly size: number;
}

/** The default image name when none is given. */
export const BUSYBOX_IMAGE = "docker.io/library/busybox:latest";
/** The default `PATH` of the images. */
export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** `created` of every config and history entry. */
export const CREATED = "2000-01-01T00:00:00Z";

const MT = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  layerTar: "application/vnd.oci.image.layer.v1.tar",
} as const;

/** The image architecture of this host, in GOARCH spelling. */
export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return map[process.arch] ?? process.arch;
}

/** Splits `registry/repo:tag` into the repository (as written) and the tag (`latest` when absent). */
export function splitReference(name: string): { repository: string; tag: string } {
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  if (name.includes("@")) throw new InvalidArgumentError(`image name ${name}: digest references are not supported`);
  if (colon > slash) return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repository: name, tag: "latest" };
}

/** The short form `docker save` writes in `RepoTags` (`busybox:latest`, `user/app:1`). */
export function familiarName(name: string): string {
  const { repository, tag } = splitReference(name);
  const short = repository.replace(/^docker\.io\//, "").replace(/^library\//, "");
  return `${short}:${tag}`;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function hex(digest: string): string {
  return digest.slice("sha256:".length);
}

/**
 * Writes an image made of `layers` (bottom first) to `outFile` in the chosen layout. The bytes depend
 * only on the inputs: every tar entry has a fixed time and owner, and JSON keys are in a fixed order.
 * The file is written next to `outFile` and renamed into place.
 */
export async function writeImageArchive(outFile: string, layers: readonly BuiltLayer[], options: ArchiveOptions = {}): Promise<ImageArchive> {
  const name = options.name ?? BUSYBOX_IMAGE;
  const { tag } = splitReference(name);
  const format = options.format ?? "oci";
  const compression = options.compression ?? (format === "oci" ? "gzip" : "none");
  const architecture = options.architecture ?? hostArchitecture();
  const run = options.config ?? {};

  const configDoc: Record<string, unknown> = {
    architecture,
    config: {
      ...(run.entrypoint === undefined ? {} : { Entrypoint: [...run.entrypoint] }),
      Cmd: [...(run.cmd ?? ["sh"])],
      Env: [...(run.env ?? [DEFAULT_PATH])],
      ...(run.labels === undefined ? {} : { Labels: { ...run.labels } }),
      ...(run.user === undefined ? {} : { User: run.user }),
      WorkingDir: run.workingDir ?? "/",
    },
    created: CREATED,
    history: layers.map((_, i) => ({ created: CREATED, created_by: `containerts testimages layer ${i}` })),
    os: "linux",
    rootfs: { diff_ids: layers.map((l) => l.diffId), type: "layers" },
  };
  const config = json(configDoc);
  const configDigest = sha256(config);

  const blobs = layers.map((l) => (compression === "gzip" ? l.gzip : l.tar));
  const archiveLayers: ArchiveLayer[] = layers.map((l, i) => ({
    mediaType: compression === "gzip" ? MT.layerGzip : MT.layerTar,
    digest: compression === "gzip" ? l.gzipDigest : l.diffId,
    size: blobs[i]!.length,
    diffId: l.diffId,
    entries: l.entries.length,
  }));
  const manifest = json({
    schemaVersion: 2,
    mediaType: MT.manifest,
    config: { mediaType: MT.config, digest: configDigest, size: config.length },
    layers: archiveLayers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  });
  const manifestDigest = sha256(manifest);

  const entries: TarEntry[] = [];
  const file = (path: string, data: Buffer): void => void entries.push({ path, type: "file", mode: 0o644, data });
  const dir = (path: string): void => void entries.push({ path, type: "dir", mode: 0o755 });

  if (format === "oci" || format === "docker-oci") {
    const index = json({
      schemaVersion: 2,
      mediaType: MT.index,
      manifests: [
        {
          mediaType: MT.manifest,
          digest: manifestDigest,
          size: manifest.length,
          annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag },
          platform: { architecture, os: "linux" },
        },
      ],
    });
    const unique = new Map<string, Buffer>([
      [configDigest, config],
      [manifestDigest, manifest],
    ]);
    archiveLayers.forEach((l, i) => unique.set(l.digest, blobs[i]!));
    dir("blobs");
    dir("blobs/sha256");
    for (const d of [...unique.keys()].sort()) file(`blobs/sha256/${hex(d)}`, unique.get(d)!);
    file("index.json", index);
    if (format === "docker-oci") {
      file(
        "manifest.json",
        json([{ Config: `blobs/sha256/${hex(configDigest)}`, RepoTags: [familiarName(name)], Layers: archiveLayers.map((l) => `blobs/sha256/${hex(l.digest)}`) }]),
      );
    }
    file("oci-layout", json({ imageLayoutVersion: "1.0.0" }));
    if (format === "docker-oci") file("repositories", repositories(name, hex(archiveLayers.at(-1)?.diffId ?? configDigest)));
  } else {
    // Classic `docker save`: one directory per layer, named by a v1 layer ID derived from the chain.
    const ids: string[] = [];
    let parent = "";
    for (const l of archiveLayers) {
      const id = hex(sha256(Buffer.from(`${parent} ${l.diffId}`)));
      ids.push(id);
      parent = id;
    }
    archiveLayers.forEach((_, i) => {
      const id = ids[i]!;
      dir(id);
      file(`${id}/VERSION`, Buffer.from("1.0"));
      file(`${id}/json`, json({ id, ...(i > 0 ? { parent: ids[i - 1] } : {}), created: CREATED, os: "linux" }));
      file(`${id}/layer.tar`, blobs[i]!);
    });
    file(`${hex(configDigest)}.json`, config);
    file("manifest.json", json([{ Config: `${hex(configDigest)}.json`, RepoTags: [familiarName(name)], Layers: ids.map((id) => `${id}/layer.tar`) }]));
    file("repositories", repositories(name, ids.at(-1) ?? ""));
  }

  const archive = writeTar(entries, { mtime: FIXED_MTIME });
  const tmp = `${outFile}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, archive);
    await rename(tmp, outFile);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { path: outFile, name, format, manifestDigest, configDigest, layers: archiveLayers, size: archive.length };
}

function repositories(name: string, top: string): Buffer {
  const short = familiarName(name);
  const colon = short.lastIndexOf(":");
  return json({ [short.slice(0, colon)]: { [short.slice(colon + 1)]: top } });
}
