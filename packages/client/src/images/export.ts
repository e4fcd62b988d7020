/**
 * Exporting images to an archive (containerd's `images/archive.Export`, behind `ctr images export`): an
 * OCI image layout — `oci-layout`, `index.json` listing each image's target annotated with its name
 * (`io.containerd.image.name`, `org.opencontainers.image.ref.name`), and every blob of the exported
 * platforms under `blobs/<alg>/<hex>`, copied byte for byte from the content store and checked against
 * its digest — plus, in the `docker` format, the `manifest.json` `docker load` reads.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { once } from "node:events";
import type { Writable } from "node:stream";

import type { Descriptor } from "@containerts/content";
import { DataLossError, InvalidArgumentError, NotFoundError } from "@containerts/errdefs";
import {
  type Image,
  type PlatformMatchComparer,
  childrenHandler,
  isIndexType,
  isManifestType,
  isNonDistributable,
  readIndex,
  readManifest,
  walk,
} from "@containerts/images";
import type { Context } from "@containerts/namespaces";

import { goDescriptor, goJson } from "../internal/gojson.js";
import { tarHeader, tarPadding, tarTrailer } from "../internal/tar.js";
import { annotationImageName, annotationRefName, familiarizeReference, ociReferenceName } from "./names.js";
import { type PlatformSpec, matcherFor, orderedMatcher } from "./platform.js";
import type { ImageServices } from "./services.js";

/** Options of {@link exportArchive}. */
export interface ExportOptions {
  /**
   * `docker` (default, as `ctr images export`): the OCI layout plus a Docker `manifest.json` for the
   * platform; `oci`: the OCI layout only (`--skip-manifest-json`).
   */
  readonly format?: "oci" | "docker";
  /**
   * The platforms whose manifests of an index are exported, preferred in order (the first is the one
   * `manifest.json` describes). Default: exactly the host's platform.
   */
  readonly platform?: PlatformSpec | readonly PlatformSpec[];
  /** Export every manifest of an index (all of their content must be present). */
  readonly allPlatforms?: boolean;
  /** Leave out non-distributable (foreign) layers. */
  readonly skipNonDistributable?: boolean;
}

/** An image to export: a name in the image store, a record, or a target with an optional name. */
export type ExportImage = string | Pick<Image, "name" | "target"> | { readonly name?: string; readonly target: Descriptor };

/** What {@link exportArchive} wrote. */
export interface ExportResult {
  /** Bytes of the archive. */
  readonly size: number;
  /** The entries of `index.json`. */
  readonly manifests: readonly Descriptor[];
}

interface Record_ {
  readonly path: string;
  readonly type: "file" | "directory";
  readonly mode: number;
  readonly size: number;
  readonly data?: Uint8Array;
  readonly blob?: Descriptor;
}

function blobRecord(desc: Descriptor): Record_ {
  const [alg = "", hex = ""] = desc.digest.split(":");
  if (alg === "" || hex === "") throw new InvalidArgumentError(`invalid digest ${JSON.stringify(desc.digest)}`);
  return { path: `blobs/${alg}/${hex}`, type: "file", mode: 0o444, size: desc.size, blob: desc };
}

function fileRecord(path: string, mode: number, data: Uint8Array): Record_ {
  return { path, type: "file", mode, size: data.byteLength, data };
}

function withName(name: string, base: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return { ...base, [annotationImageName]: name, [annotationRefName]: ociReferenceName(name) };
}

function platformsOf(options: ExportOptions): PlatformMatchComparer {
  const p = options.platform;
  if (p === undefined || (Array.isArray(p) && p.length === 0)) return matcherFor(undefined, "strict");
  if (Array.isArray(p)) return orderedMatcher(p as readonly PlatformSpec[]);
  return matcherFor(p as PlatformSpec, "strict");
}

/**
 * Writes an archive of `images` to `out` (a writable stream, which is not ended, or a file path, which is
 * created and removed again when the export fails).
 *
 * @throws NotFoundError when an image or one of the blobs it needs is missing, or `no manifest found for
 *   platform` when an index has no manifest for the platform.
 * @throws InvalidArgumentError `only manifests may be exported` for a target that is neither manifest nor
 *   index.
 * @throws DataLossError `unexpected digest <d> copied` when a stored blob does not match its digest.
 */
export async function exportArchive(
  svc: Pick<ImageServices, "content" | "images">,
  ctx: Context,
  images: readonly ExportImage[],
  out: Writable | string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  if (images.length === 0) throw new InvalidArgumentError("no image to export");
  const manifests: Descriptor[] = [];
  for (const img of images) {
    if (typeof img === "string") {
      const record = await svc.images.get(ctx, img);
      manifests.push({ ...record.target, annotations: withName(img, record.target.annotations) });
    } else if (img.name !== undefined && img.name !== "") {
      manifests.push({ ...img.target, annotations: withName(img.name, img.target.annotations) });
    } else {
      manifests.push(img.target);
    }
  }

  const docker = (options.format ?? "docker") === "docker";
  const matcher = platformsOf(options);
  const all = options.allPlatforms === true;
  const skip = options.skipNonDistributable === true;
  const records: Record_[] = [];
  const algorithms = new Set<string>();
  const dockerManifests = new Map<string, { manifest: Descriptor; names: string[] }>();
  const resolvedIndex = new Map<string, string>();

  const addTree = async (root: Descriptor) => {
    const children = childrenHandler(svc.content);
    await walk(ctx, async (ctx, desc) => {
      if (!(skip && isNonDistributable(desc.mediaType))) {
        records.push(blobRecord(desc));
        algorithms.add(desc.digest.split(":")[0]!);
      }
      return children(ctx, desc);
    }, [root]);
  };

  for (const desc of manifests) {
    const name = desc.annotations?.[annotationImageName];
    if (isManifestType(desc.mediaType)) {
      let m = dockerManifests.get(desc.digest);
      if (m === undefined) {
        await addTree(desc);
        m = { manifest: desc, names: [] };
        dockerManifests.set(desc.digest, m);
      }
      if (name !== undefined && name !== "" && docker) m.names.push(name);
    } else if (isIndexType(desc.mediaType)) {
      let d = resolvedIndex.get(desc.digest);
      if (d === undefined) {
        d = "";
        records.push(blobRecord(desc));
        const index = await readIndex(svc.content, ctx, desc);
        const kept: Descriptor[] = [];
        for (const m of index.manifests) {
          if (m.platform === undefined || matcher.match(m.platform)) kept.push(m);
          else if (!all) continue;
          await addTree(m);
        }
        if (docker) {
          if (kept.length > 0) {
            const sorted = [...kept].sort((a, b) => {
              if (a.platform === undefined) return b.platform === undefined ? 0 : 1;
              if (b.platform === undefined) return -1;
              return matcher.less(a.platform, b.platform) ? -1 : matcher.less(b.platform, a.platform) ? 1 : 0;
            });
            d = sorted[0]!.digest;
            dockerManifests.set(d, { manifest: sorted[0]!, names: [] });
          } else {
            throw new NotFoundError(`no manifest found for platform in ${desc.digest}`);
          }
        }
        resolvedIndex.set(desc.digest, d);
      }
      if (d !== "" && name !== undefined && name !== "") dockerManifests.get(d)!.names.push(name);
    } else {
      throw new InvalidArgumentError(`only manifests may be exported, not ${desc.mediaType}`);
    }
  }

  records.push(fileRecord("oci-layout", 0o444, Buffer.from(goJson({ imageLayoutVersion: "1.0.0" }))));
  records.push(fileRecord("index.json", 0o644, Buffer.from(goJson({ schemaVersion: 2, manifests: manifests.map(goDescriptor) }))));
  if (docker && dockerManifests.size > 0) {
    const entries = [];
    for (const { manifest, names } of dockerManifests.values()) {
      const m = await readManifest(svc.content, ctx, manifest);
      const path = (d: Descriptor) => blobRecord(d).path;
      entries.push({
        Config: path(m.config),
        RepoTags: names.length > 0 ? names.map(familiarizeReference) : null,
        Layers: m.layers.length > 0 ? m.layers.map(path) : null,
      });
    }
    records.push(fileRecord("manifest.json", 0o644, Buffer.from(goJson(entries))));
  }
  if (algorithms.size > 0) {
    records.push({ path: "blobs/", type: "directory", mode: 0o755, size: 0 });
    for (const alg of algorithms) records.push({ path: `blobs/${alg}/`, type: "directory", mode: 0o755, size: 0 });
  }
  records.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  if (typeof out === "string") {
    const file = createWriteStream(out);
    try {
      const size = await writeRecords(svc, ctx, records, file);
      file.end();
      await once(file, "finish");
      return { size, manifests };
    } catch (err) {
      file.destroy();
      await rm(out, { force: true }).catch(() => undefined);
      throw err;
    }
  }
  return { size: await writeRecords(svc, ctx, records, out), manifests };
}

async function writeRecords(svc: Pick<ImageServices, "content">, ctx: Context, records: readonly Record_[], out: Writable): Promise<number> {
  let size = 0;
  const write = async (buf: Uint8Array) => {
    if (buf.byteLength === 0) return;
    size += buf.byteLength;
    if (!out.write(buf)) await once(out, "drain");
  };
  let last = "";
  for (const r of records) {
    if (r.path === last) continue;
    last = r.path;
    await write(tarHeader(r));
    if (r.type !== "file") continue;
    if (r.data !== undefined) {
      await write(r.data);
    } else if (r.blob !== undefined) {
      const [alg = "sha256", hex = ""] = r.blob.digest.split(":");
      const hash = createHash(alg);
      let n = 0;
      for await (const chunk of svc.content.read(ctx, r.blob.digest)) {
        hash.update(chunk);
        n += chunk.byteLength;
        await write(chunk);
      }
      if (n !== r.size) throw new DataLossError(`unexpected copy size for ${r.path}: ${n} of ${r.size} bytes`);
      const got = hash.digest("hex");
      if (got !== hex) throw new DataLossError(`unexpected digest ${alg}:${got} copied`);
    }
    await write(tarPadding(r.size));
  }
  await write(tarTrailer());
  return size;
}

