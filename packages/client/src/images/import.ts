/**
 * Importing image archives (containerd's `Client.Import` and `images/archive.ImportIndex`):
 *
 * - an OCI image layout (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), including the layout
 *   `docker save` writes since Docker 25;
 * - a classic `docker save` archive (`manifest.json`, `repositories`, `<id>/layer.tar`, `<id>.json`):
 *   a Docker schema 2 manifest is created per image (layers `…rootfs.diff.tar`, or `…tar.gzip` when
 *   compressed) and an index naming each tag.
 *
 * Every regular file is written into the content store under the ref `tar-<path>` (a blob named
 * `blobs/<alg>/<hex>` is written with that expected digest, so the store verifies it, and skipped when
 * the store has it). The index's entries are named from their annotations with ctr's rules, parents
 * get their children's gc labels, and the image records are created (or their target updated). All of
 * it runs under a temporary lease. An entry whose path or link target leaves the archive root is refused.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

import type { ContentWriter, Descriptor, Digest, Platform } from "@containerts/content";
import { isDigest, openWriter } from "@containerts/content";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, isAlreadyExists, isNotFound, withContext } from "@containerts/errdefs";
import {
  type Image,
  MediaType,
  type PlatformMatchComparer,
  childrenGcLabels,
  childrenHandler,
  filterPlatforms,
  imagePlatforms,
  labelUncompressed,
  readIndex,
  walk,
} from "@containerts/images";
import type { Context } from "@containerts/namespaces";

import { goDescriptor, goJson } from "../internal/gojson.js";
import { pump } from "../internal/pump.js";
import { type TarEntry, readTar } from "../internal/tar.js";
import { withLease } from "../lease.js";
import { createOrUpdateImage } from "./fetch.js";
import { annotationImageName, annotationRefName, defaultImportPrefix, imageNameOf, normalizeReference, ociReferenceName, refTranslator } from "./names.js";
import { type PlatformSpec, anyPlatform, matcherFor } from "./platform.js";
import { type ProgressFn, report } from "./progress.js";
import type { ImageServices } from "./services.js";
import { unpack, type UnpackResult } from "./unpack.js";

/** Options of {@link importArchive}. */
export interface ImportOptions {
  /**
   * Base name for images named only by a tag (`org.opencontainers.image.ref.name: latest` →
   * `<baseName>:latest`); when given, images whose full name does not start with it are skipped (as
   * `ctr images import --base-name`). Default: `import-<yyyy-mm-dd>`, without skipping.
   */
  readonly baseName?: string;
  /** Also create `<baseName>@<digest>` images for every manifest of the index (`--digests`). */
  readonly digests?: boolean;
  /** With `digests`, skip the digest image of entries that have a name (`--skip-digest-for-named`). */
  readonly skipDigestForNamed?: boolean;
  /** Also record the archive's index itself under this name (`--index-name`). */
  readonly indexName?: string;
  /** Import the content of every platform (default: the host's, or `platform`'s). */
  readonly allPlatforms?: boolean;
  /** Import (and unpack) only this platform (exactly it, as `--platform`). */
  readonly platform?: PlatformSpec;
  /** Unpack each imported image afterwards (default false). */
  readonly unpack?: boolean;
  /** Snapshotter to unpack into (default: the namespace's default, else `overlayfs`). */
  readonly snapshotter?: string;
  /** Called for each archive file written (`tar-<path>` refs) and each layer unpacked. */
  readonly onProgress?: ProgressFn;
}

/** An image archive: a file path, or its bytes as a stream (gzip/zstd-compressed archives are read too). */
export type ArchiveSource = string | AsyncIterable<Uint8Array>;

/** A regular file of the archive, once in the content store. */
interface ArchiveBlob {
  readonly digest: Digest;
  readonly size: number;
  /** The first bytes, to tell compressed layers from plain tar. */
  readonly head: Uint8Array;
}

/** `manifest.json` of a `docker save` archive. */
interface DockerManifestEntry {
  readonly Config: string;
  readonly RepoTags: readonly string[];
  readonly Layers: readonly string[];
}

const JSON_LIMIT = 20 << 20;
const blobPath = /^blobs\/([a-z0-9]+(?:[.+_-][a-z0-9]+)*)\/([a-zA-Z0-9=_-]+)$/;

/** The result of {@link importArchive}. */
export interface ImportResult {
  /** The image records created or updated, in index order. */
  readonly images: readonly Image[];
  /** What was unpacked, per image (only with `unpack`). */
  readonly unpacked: readonly UnpackResult[];
  /** The archive's index, as written to the content store. */
  readonly index: Descriptor;
}

/**
 * Imports an image archive and records its images.
 *
 * @throws InvalidArgumentError for an entry whose path or link target escapes the archive root, a
 *   malformed archive or document, `unrecognized image format`, `unsupported OCI version <v>`,
 *   `missing index.json in OCI layout 1.0.0`.
 * @throws NotFoundError for a Docker archive that names a config or layer it does not hold, and when
 *   unpacking finds no manifest for the platform.
 * @throws FailedPreconditionError `failed commit on ref "tar-blobs/…"` when a blob's bytes do not match
 *   the digest in its name.
 */
export async function importArchive(svc: ImageServices, ctx: Context, source: ArchiveSource, options: ImportOptions = {}): Promise<ImportResult> {
  const result = await withLease(svc, ctx, (ctx) => importIndex(svc, ctx, source, options));
  if (options.unpack !== true) return result;
  const unpacked: UnpackResult[] = [];
  const platform = options.platform !== undefined && options.platform !== "" ? matcherFor(options.platform, "strict") : matcherFor(undefined);
  for (const image of result.images) {
    unpacked.push(
      await unpack(svc, ctx, image, {
        platform,
        ...(options.snapshotter !== undefined ? { snapshotter: options.snapshotter } : {}),
        ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      }),
    );
  }
  return { ...result, unpacked };
}

async function importIndex(svc: ImageServices, ctx: Context, source: ArchiveSource, options: ImportOptions): Promise<ImportResult> {
  const blobs = new Map<string, ArchiveBlob>();
  const symlinks = new Map<string, string>();
  let layoutVersion: string | undefined;
  let dockerManifests: DockerManifestEntry[] | undefined;

  const input = typeof source === "string" ? createReadStream(source) : source;
  await readTar(
    input,
    async (entry, data) => {
      if (entry.type === "symlink" || entry.type === "hardlink") {
        symlinks.set(entry.path, entry.target!);
        return;
      }
      if (entry.type !== "file") return;
      if (entry.path === "oci-layout") {
        const layout = parseJsonObject(await readAll(data, JSON_LIMIT, entry.path), `untar oci layout ${JSON.stringify(entry.path)}`);
        layoutVersion = typeof layout["imageLayoutVersion"] === "string" ? layout["imageLayoutVersion"] : "";
        return;
      }
      if (entry.path === "manifest.json") {
        dockerManifests = parseDockerManifest(await readAll(data, JSON_LIMIT, entry.path));
        return;
      }
      blobs.set(entry.path, await writeArchiveBlob(svc, ctx, entry, data, options.onProgress));
    },
    ctx.signal,
  );

  let index: Descriptor;
  if (layoutVersion !== undefined && layoutVersion !== "") {
    if (layoutVersion !== "1.0.0") throw new InvalidArgumentError(`unsupported OCI version ${layoutVersion}`);
    const idx = blobs.get("index.json");
    if (idx === undefined) throw new InvalidArgumentError("missing index.json in OCI layout 1.0.0");
    index = { mediaType: MediaType.OciIndex, digest: idx.digest, size: idx.size };
  } else if (dockerManifests !== undefined) {
    for (const [name, target] of symlinks) {
      const blob = blobs.get(target);
      if (blob === undefined) throw new NotFoundError(`no target for symlink layer from ${JSON.stringify(name)} to ${JSON.stringify(target)}`);
      blobs.set(name, blob);
    }
    index = await writeDockerIndex(svc, ctx, dockerManifests, blobs);
  } else {
    throw new InvalidArgumentError("unrecognized image format");
  }

  const prefix = options.baseName !== undefined && options.baseName !== "" ? options.baseName : defaultImportPrefix();
  const translate = refTranslator(prefix, options.baseName !== undefined && options.baseName !== "");
  const matcher: PlatformMatchComparer =
    options.allPlatforms === true ? anyPlatform : options.platform !== undefined && options.platform !== "" ? matcherFor(options.platform, "strict") : matcherFor(undefined);

  const records: { name: string; target: Descriptor }[] = [];
  if (options.indexName !== undefined && options.indexName !== "") records.push({ name: options.indexName, target: index });
  const topManifests = (await readIndex(svc.content, ctx, index)).manifests;
  for (const m of topManifests) {
    const name = imageNameOf(m.annotations, translate);
    if (name !== "") records.push({ name, target: m });
    if (options.digests === true && !(options.skipDigestForNamed === true && name !== "")) {
      records.push({ name: `${prefix}@${m.digest}`, target: m });
    }
  }

  // Label parents with their children (for the platforms imported) so the collector keeps them.
  const children = filterPlatforms(childrenHandler(svc.content), matcher);
  let walked = false;
  await walk(
    ctx,
    async (ctx, desc) => {
      const ch = await children(ctx, desc);
      if (ch.length > 0) {
        walked = true;
        const labels = childrenGcLabels(ch);
        const keys = Object.keys(labels);
        await svc.content.update(ctx, { digest: desc.digest, labels }, keys.map((k) => `labels.${k}`));
      }
      return ch;
    },
    [index],
  );
  if (!walked) throw new NotFoundError("image might be filtered out: no manifest for the platform in the archive");

  const images: Image[] = [];
  for (const r of records) {
    let image: Image;
    try {
      image = await svc.images.update(ctx, { name: r.name, target: r.target }, ["target"]);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      image = await createOrUpdateImage(svc, ctx, { name: r.name, target: r.target });
    }
    images.push(image);
  }
  return { images, unpacked: [], index };
}

/** Writes one regular archive file into the content store under `tar-<path>`. */
async function writeArchiveBlob(svc: ImageServices, ctx: Context, entry: TarEntry, data: AsyncIterable<Uint8Array>, onProgress?: ProgressFn): Promise<ArchiveBlob> {
  const ref = `tar-${entry.path}`;
  const m = blobPath.exec(entry.path);
  const named = m !== null && isDigest(`${m[1]}:${m[2]}`) ? (`${m[1]}:${m[2]}` as Digest) : undefined;
  const hash = named === undefined || named.startsWith("sha256:") ? createHash("sha256") : undefined;
  let head = new Uint8Array(0);
  const tap = (chunk: Uint8Array) => {
    hash?.update(chunk);
    if (head.byteLength < 10) head = Buffer.concat([head, chunk.subarray(0, 10 - head.byteLength)]);
  };
  let w: ContentWriter;
  try {
    w = await openWriter(svc.content, ctx, { ref, total: entry.size, ...(named !== undefined ? { expected: named } : {}) });
  } catch (err) {
    if (!isAlreadyExists(err) || named === undefined) throw withContext(err, `failed to ingest ${JSON.stringify(entry.path)}`);
    // The store has this blob already: the data is only read past (its first bytes are kept).
    for await (const chunk of data) if (head.byteLength < 10) head = Buffer.concat([head, chunk.subarray(0, 10 - head.byteLength)]);
    report(onProgress, { ref, status: "exists", offset: entry.size, total: entry.size });
    return { digest: named, size: entry.size, head };
  }
  try {
    // The archive is read once: a resumed ingest restarts.
    if (w.offset > 0) await w.truncate(0);
    report(onProgress, { ref, status: "downloading", offset: 0, total: entry.size });
    await pump(data, w, {
      limit: entry.size,
      what: `archive entry ${JSON.stringify(entry.path)}`,
      tap,
      onWritten: (offset) => report(onProgress, { ref, status: "downloading", offset, total: entry.size }),
    });
    const digest = hash !== undefined ? (`sha256:${hash.digest("hex")}` as Digest) : named!;
    if (named !== undefined && named !== digest) {
      throw new FailedPreconditionError(`unexpected commit digest ${digest}, expected ${named}`);
    }
    try {
      await w.commit(entry.size, digest);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    report(onProgress, { ref, status: "done", offset: entry.size, total: entry.size });
    return { digest, size: entry.size, head };
  } catch (err) {
    await w.close().catch(() => undefined);
    await svc.content.abort(ctx, ref).catch(() => undefined);
    throw withContext(err, `failed commit on ref ${JSON.stringify(ref)}`);
  }
}

async function readAll(data: AsyncIterable<Uint8Array>, limit: number, what: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of data) {
    n += chunk.byteLength;
    if (n > limit) throw new InvalidArgumentError(`${what}: more than ${limit} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts, n);
}

function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw new InvalidArgumentError(`${what}: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new InvalidArgumentError(`${what}: not a JSON object`);
  return v as Record<string, unknown>;
}

function parseDockerManifest(bytes: Uint8Array): DockerManifestEntry[] {
  const what = `untar manifest "manifest.json"`;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw new InvalidArgumentError(`${what}: ${(err as Error).message}`);
  }
  if (!Array.isArray(v)) throw new InvalidArgumentError(`${what}: not a JSON array`);
  return v.map((e: unknown, i) => {
    if (typeof e !== "object" || e === null) throw new InvalidArgumentError(`${what}: entry ${i} is not an object`);
    const o = e as Record<string, unknown>;
    const str = (x: unknown) => typeof x === "string";
    if (!str(o["Config"])) throw new InvalidArgumentError(`${what}: entry ${i} has no Config`);
    const tags = o["RepoTags"] ?? [];
    const layers = o["Layers"] ?? [];
    if (!Array.isArray(tags) || !tags.every(str)) throw new InvalidArgumentError(`${what}: entry ${i}: RepoTags must be strings`);
    if (!Array.isArray(layers) || !layers.every(str)) throw new InvalidArgumentError(`${what}: entry ${i}: Layers must be strings`);
    return { Config: o["Config"] as string, RepoTags: tags as string[], Layers: layers as string[] };
  });
}

/** Cleans a path named inside `manifest.json` like the archive's own paths. */
function cleanRef(p: string): string {
  return p.split("/").filter((x) => x !== "" && x !== ".").join("/");
}

/**
 * Creates the Docker manifests and the index of a `docker save` archive (containerd's
 * `ImportIndex` for Docker formats), written as containerd writes them, so the digests match.
 */
async function writeDockerIndex(svc: ImageServices, ctx: Context, entries: readonly DockerManifestEntry[], blobs: ReadonlyMap<string, ArchiveBlob>): Promise<Descriptor> {
  const manifests: Descriptor[] = [];
  for (const e of entries) {
    const cfg = blobs.get(cleanRef(e.Config));
    if (cfg === undefined) throw new NotFoundError(`image config ${JSON.stringify(e.Config)}`);
    const config: Descriptor = { mediaType: MediaType.DockerConfig, digest: cfg.digest, size: cfg.size };
    const layers = await resolveDockerLayers(svc, ctx, e.Layers, blobs);
    const manifest = { schemaVersion: 2, mediaType: MediaType.DockerManifest, config: goDescriptor(config), layers: layers.map(goDescriptor) };
    let desc = await writeDocument(svc, ctx, manifest, MediaType.DockerManifest);
    const platforms: Platform[] = await imagePlatforms(svc.content, ctx, desc);
    if (platforms.length > 0) desc = { ...desc, platform: platforms[0]! };
    if (e.RepoTags.length === 0) {
      manifests.push(desc);
      continue;
    }
    for (const tag of e.RepoTags) {
      const normalized = normalizeReference(tag);
      manifests.push({ ...desc, annotations: { [annotationImageName]: normalized, [annotationRefName]: ociReferenceName(normalized) } });
    }
  }
  return writeDocument(svc, ctx, { schemaVersion: 2, manifests: manifests.map(goDescriptor) }, MediaType.OciIndex);
}

async function resolveDockerLayers(svc: ImageServices, ctx: Context, files: readonly string[], blobs: ReadonlyMap<string, ArchiveBlob>): Promise<Descriptor[]> {
  const layers: { desc: Descriptor; head: Uint8Array; typed: boolean }[] = [];
  for (const f of files) {
    const b = blobs.get(cleanRef(f));
    if (b === undefined) throw new NotFoundError(`layer ${JSON.stringify(f)}`);
    layers.push({ desc: { mediaType: "", digest: b.digest, size: b.size }, head: b.head, typed: false });
  }
  // A compressed blob of the same layer already in the store is used instead (as containerd does).
  if (layers.length > 0) {
    const filters = layers.map((l) => `labels."${labelUncompressed}"==${l.desc.digest}`);
    const byUncompressed = new Map<string, { digest: Digest; size: number }>();
    await svc.content.walk(ctx, (info) => {
      const u = info.labels[labelUncompressed];
      if (u !== undefined) byUncompressed.set(u, { digest: info.digest, size: info.size });
    }, filters);
    for (const l of layers) {
      const c = byUncompressed.get(l.desc.digest);
      if (c === undefined) continue;
      const head = new Uint8Array(10);
      for await (const chunk of svc.content.read(ctx, c.digest, { size: 10 })) head.set(chunk.subarray(0, 10));
      l.desc = { mediaType: layerMediaType(head, c.size), digest: c.digest, size: c.size };
      l.typed = true;
    }
  }
  return layers.map((l) => (l.typed ? l.desc : { ...l.desc, mediaType: layerMediaType(l.head, l.desc.size) }));
}

/** Docker layer media type by the data's magic: plain tar, or (anything compressed) `tar.gzip`, as containerd decides. */
function layerMediaType(head: Uint8Array, size: number): string {
  if (size === 0 || head.byteLength === 0) return MediaType.DockerLayer;
  const gzip = head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08;
  const zstd = head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd;
  return gzip || zstd ? MediaType.DockerLayerGzip : MediaType.DockerLayer;
}

/** Writes a generated document (Go JSON) under `manifest-<digest>` and returns its descriptor. */
async function writeDocument(svc: ImageServices, ctx: Context, doc: unknown, mediaType: string): Promise<Descriptor> {
  const bytes = Buffer.from(goJson(doc));
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest;
  const desc: Descriptor = { mediaType, digest, size: bytes.byteLength };
  let w: ContentWriter;
  try {
    w = await openWriter(svc.content, ctx, { ref: `manifest-${digest}`, total: bytes.byteLength, expected: digest });
  } catch (err) {
    if (isAlreadyExists(err)) return desc;
    throw err;
  }
  try {
    if (w.offset > 0) await w.truncate(0);
    await w.write(bytes);
    await w.commit(bytes.byteLength, digest);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  } finally {
    await w.close();
  }
  return desc;
}
