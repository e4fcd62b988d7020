/**
 * Small in-process test images: real OCI or Docker documents (index / manifest list, manifests,
 * configs) and real layers (tar archives, gzip-compressed by default), built in memory so that tests
 * need no registry, no archive and no network. {@link writeTestImage} puts the blobs into a content
 * store, each parent labelled for garbage collection as a fetcher would.
 */
import { gzipSync } from "node:zlib";

import type { Descriptor, Digest, Ingester, Manager, Platform } from "@containerts/content";
import { digestOf, writeBlob } from "@containerts/content";
import { InvalidArgumentError } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";

import { childrenGcLabels } from "../labels.js";
import { MediaType } from "../media-types.js";
import { descriptorToJson } from "../oci.js";

/** Options of {@link buildTestImage}. */
export interface TestImageOptions {
  /** Document media types: `oci` (default) or `docker` (schema 2 manifest list and manifests). */
  readonly format?: "oci" | "docker";
  /** One manifest per platform (default `linux/amd64` and `linux/arm64/v8`). */
  readonly platforms?: readonly Platform[];
  /** Wrap the manifests in an index / manifest list (default true; false needs exactly one platform). */
  readonly index?: boolean;
  /** Put each manifest's platform on its index entry (default true; false leaves only the config's). */
  readonly platformsInIndex?: boolean;
  /** Layers per manifest (default 2). */
  readonly layers?: number;
  /** gzip the layers (default true). */
  readonly compress?: boolean;
  /** Makes the image's bytes unique: images built with different seeds share no blob. Default `"test"`. */
  readonly seed?: string;
  /** Annotations of the index (or of the manifest when there is no index). */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** One platform's part of a {@link TestImage}. */
export interface TestImageManifest {
  readonly platform: Platform;
  /** The manifest's descriptor (with `platform` when the index carries it). */
  readonly descriptor: Descriptor;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  /** The uncompressed digests of the layers, as in the config's `rootfs.diff_ids`. */
  readonly diffIds: readonly Digest[];
}

/** A blob of a test image. */
export interface TestBlob {
  readonly descriptor: Descriptor;
  readonly bytes: Uint8Array;
}

/** A built test image: its target, its manifests and every blob (target first, then depth first). */
export interface TestImage {
  /** The index (or the single manifest). */
  readonly target: Descriptor;
  readonly manifests: readonly TestImageManifest[];
  readonly blobs: readonly TestBlob[];
}

const encoder = new TextEncoder();

/** A ustar archive holding one regular file (mode 0644, owner 0:0, fixed mtime). */
export function tarWithFile(name: string, content: Uint8Array): Uint8Array {
  const header = new Uint8Array(512);
  const put = (s: string, at: number, len: number) => header.set(encoder.encode(s).subarray(0, len), at);
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0");
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.byteLength, 12), 124, 12);
  put(octal(1_700_000_000, 12), 136, 12);
  header.fill(0x20, 148, 156);
  put("0", 156, 1);
  put("ustar", 257, 6);
  put("00", 263, 2);
  put("root", 265, 32);
  put("root", 297, 32);
  let sum = 0;
  for (const b of header) sum += b;
  put(`${octal(sum, 7)}\0`, 148, 8);
  const padded = Math.ceil(content.byteLength / 512) * 512;
  const out = new Uint8Array(512 + padded + 1024);
  out.set(header, 0);
  out.set(content, 512);
  return out;
}

function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function platformJson(p: Platform): Record<string, unknown> {
  return {
    architecture: p.architecture,
    os: p.os,
    ...(p.osVersion !== undefined ? { "os.version": p.osVersion } : {}),
    ...(p.osFeatures !== undefined ? { "os.features": [...p.osFeatures] } : {}),
    ...(p.variant !== undefined ? { variant: p.variant } : {}),
  };
}

/**
 * Builds a test image in memory. Each platform gets its own layers (a file `<platform>/<i>.txt` per
 * layer), config (with `rootfs.diff_ids`, `os`, `architecture`, `variant`) and manifest.
 * @throws InvalidArgumentError when `index` is false and there is not exactly one platform.
 */
export function buildTestImage(options: TestImageOptions = {}): TestImage {
  const docker = options.format === "docker";
  const platforms = options.platforms ?? [
    { os: "linux", architecture: "amd64" },
    { os: "linux", architecture: "arm64", variant: "v8" },
  ];
  const useIndex = options.index ?? true;
  if (!useIndex && platforms.length !== 1) throw new InvalidArgumentError("an image without an index has exactly one platform");
  const layerCount = options.layers ?? 2;
  const compress = options.compress ?? true;
  const seed = options.seed ?? "test";
  const blobs: TestBlob[] = [];
  const add = (mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor => {
    const descriptor: Descriptor = { mediaType, digest: digestOf(bytes), size: bytes.byteLength, ...extra };
    blobs.push({ descriptor, bytes });
    return descriptor;
  };
  const layerType = docker
    ? compress ? MediaType.DockerLayerGzip : MediaType.DockerLayer
    : compress ? MediaType.OciLayerGzip : MediaType.OciLayer;

  const manifests: TestImageManifest[] = [];
  const manifestBlobs: TestBlob[][] = [];
  for (const platform of platforms) {
    const start = blobs.length;
    const id = [platform.os, platform.architecture, platform.variant].filter(Boolean).join("-");
    const layers: Descriptor[] = [];
    const diffIds: Digest[] = [];
    for (let i = 0; i < layerCount; i++) {
      const tar = tarWithFile(`${id}/${i}.txt`, encoder.encode(`${seed} ${id} layer ${i}\n`));
      diffIds.push(digestOf(tar));
      layers.push(add(layerType, compress ? new Uint8Array(gzipSync(tar)) : tar));
    }
    const configDoc = {
      created: "2024-01-01T00:00:00Z",
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"], Labels: { seed } },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: layers.map((_, i) => ({ created: "2024-01-01T00:00:00Z", created_by: `layer ${i}` })),
    };
    const config = add(docker ? MediaType.DockerConfig : MediaType.OciConfig, json(configDoc));
    const manifestDoc = {
      schemaVersion: 2,
      mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest,
      config: descriptorToJson(config),
      layers: layers.map(descriptorToJson),
      ...(!useIndex && options.annotations !== undefined ? { annotations: { ...options.annotations } } : {}),
    };
    const manifestBytes = json(manifestDoc);
    const inIndex = useIndex && (options.platformsInIndex ?? true);
    const descriptor: Descriptor = {
      mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest,
      digest: digestOf(manifestBytes),
      size: manifestBytes.byteLength,
      ...(inIndex ? { platform } : {}),
    };
    blobs.push({ descriptor, bytes: manifestBytes });
    manifests.push({ platform, descriptor, config, layers, diffIds });
    manifestBlobs.push(blobs.splice(start));
  }

  let target: Descriptor;
  if (useIndex) {
    const indexDoc = {
      schemaVersion: 2,
      mediaType: docker ? MediaType.DockerManifestList : MediaType.OciIndex,
      manifests: manifests.map((m) => ({ ...descriptorToJson(m.descriptor), ...(m.descriptor.platform ? { platform: platformJson(m.descriptor.platform) } : {}) })),
      ...(options.annotations !== undefined ? { annotations: { ...options.annotations } } : {}),
    };
    const bytes = json(indexDoc);
    target = { mediaType: docker ? MediaType.DockerManifestList : MediaType.OciIndex, digest: digestOf(bytes), size: bytes.byteLength };
    blobs.push({ descriptor: target, bytes });
  } else {
    const only = manifests[0]!;
    target = { mediaType: only.descriptor.mediaType, digest: only.descriptor.digest, size: only.descriptor.size };
  }
  // Target first, then each manifest's blobs in walk order: manifest, config, layers.
  const ordered: TestBlob[] = useIndex ? [blobs[blobs.length - 1]!] : [];
  for (const group of manifestBlobs) {
    // Each group was built as layers…, config, manifest.
    ordered.push(group[group.length - 1]!, group[group.length - 2]!, ...group.slice(0, -2));
  }
  return { target, manifests, blobs: ordered };
}

/** Options of {@link writeTestImage}. */
export interface WriteTestImageOptions {
  /**
   * Label each parent blob with its children's gc references (`containerd.io/gc.ref.content.m.<i>`,
   * `.config`, `.l.<i>`), as a fetcher does. Default true.
   */
  readonly gcLabels?: boolean;
  /** Extra labels for every blob. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Writes every blob of `image` into `store` (existing blobs count as written), children first, each
 * parent with the gc labels referencing its children.
 */
export async function writeTestImage(store: Ingester & Partial<Pick<Manager, "update">>, ctx: Context, image: TestImage, options: WriteTestImageOptions = {}): Promise<void> {
  const gc = options.gcLabels ?? true;
  const childrenOf = new Map<Digest, readonly Descriptor[]>();
  if (image.target.digest !== image.manifests[0]?.descriptor.digest) {
    childrenOf.set(image.target.digest, image.manifests.map((m) => m.descriptor));
  }
  for (const m of image.manifests) childrenOf.set(m.descriptor.digest, [m.config, ...m.layers]);
  for (const blob of [...image.blobs].reverse()) {
    const children = childrenOf.get(blob.descriptor.digest);
    const labels = { ...(options.labels ?? {}), ...(gc && children !== undefined ? childrenGcLabels(children) : {}) };
    await writeBlob(store, ctx, `test-${blob.descriptor.digest}`, blob.bytes, {
      total: blob.bytes.byteLength,
      expected: blob.descriptor.digest,
      labels,
    });
  }
}
