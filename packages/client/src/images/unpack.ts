/**
 * Unpacking an image into a snapshot chain (containerd's `Image.Unpack` with `rootfs.ApplyLayer`, path B
 * of api-compat §4.5): for each layer, bottom first, the committed snapshot named by the layer's chain ID
 * is looked up; when it is missing, an `extract-<nanos>-<b64> <chainID>` snapshot is prepared on the
 * parent chain, the layer is applied by the diff service, the applied digest is checked against the
 * config's diff ID and the snapshot is committed under the chain ID. The layer blob then gets the
 * `containerd.io/uncompressed` label and the config `containerd.io/gc.ref.snapshot.<snapshotter>`.
 *
 * Snapshots are prepared and committed without labels, as `ctr images pull` and `ctr images import` do.
 */
import { randomBytes } from "node:crypto";

import type { Descriptor, Digest } from "@containerts/content";
import { FailedPreconditionError, InvalidArgumentError, isAlreadyExists, isNotFound, withContext } from "@containerts/errdefs";
import {
  type Image,
  type ImageConfig,
  type ImageManifest,
  type PlatformMatchComparer,
  chainIds,
  labelGcRefSnapshotPrefix,
  labelUncompressed,
  readImageConfig,
  resolveManifest,
} from "@containerts/images";
import type { Context } from "@containerts/namespaces";
import type { Mount, Snapshotter } from "@containerts/snapshots";

import { withLease } from "../lease.js";
import { type PlatformSpec, matcherFor } from "./platform.js";
import { type ProgressFn, report } from "./progress.js";
import { type ImageServices, refKey, resolveSnapshotter } from "./services.js";

/** Options of {@link unpack}. */
export interface UnpackOptions {
  /** Snapshotter (default: the namespace's `containerd.io/defaults/snapshotter`, else `overlayfs`). */
  readonly snapshotter?: string;
  /**
   * The platform whose manifest is unpacked (default: the host's, with containerd's fallbacks) — a
   * specifier, a platform, or a ready matcher.
   */
  readonly platform?: PlatformSpec | PlatformMatchComparer;
  /** Called when a layer starts and ends unpacking. */
  readonly onProgress?: ProgressFn;
}

/** What {@link unpack} did. */
export interface UnpackResult {
  /** The snapshotter unpacked into. */
  readonly snapshotter: string;
  /** The chain ID of the top layer: the snapshot a container's rootfs is prepared on. */
  readonly chainId: Digest;
  /** Number of layers of the image. */
  readonly layers: number;
  /** Number of layers applied now (the others were unpacked already). */
  readonly applied: number;
}

/** An image given by name, as a record, or as its target descriptor. */
export type ImageRef = string | Pick<Image, "target"> | Descriptor;

/** The target descriptor of an {@link ImageRef} (a name is looked up in the image store). */
export async function imageTarget(svc: Pick<ImageServices, "images">, ctx: Context, image: ImageRef): Promise<Descriptor> {
  if (typeof image === "string") return (await svc.images.get(ctx, image)).target;
  return "target" in image ? image.target : image;
}

function isMatcher(p: UnpackOptions["platform"]): p is PlatformMatchComparer {
  return typeof p === "object" && p !== null && "match" in p && "less" in p;
}

/** The platform matcher of unpack-like options. */
export function unpackMatcher(platform: UnpackOptions["platform"]): PlatformMatchComparer {
  return isMatcher(platform) ? platform : matcherFor(platform);
}

/** `<nanoseconds within the second>-<base64url of 3 random bytes>`, the unique part of extract keys. */
export function uniquePart(): string {
  const now = process.hrtime.bigint();
  const nanos = Number((BigInt(Date.now() % 1000) * 1_000_000n + (now % 1_000_000n)) % 1_000_000_000n);
  return `${nanos}-${randomBytes(3).toString("base64url")}`;
}

/**
 * Unpacks the image's manifest for the platform into the snapshotter, under a temporary lease (or the
 * context's), and returns the chain ID of the top layer.
 *
 * @throws NotFoundError when the image, its manifest for the platform (`no match for platform in
 *   manifest …`) or one of its blobs is missing.
 * @throws InvalidArgumentError `mismatched image rootfs and manifest layers` when the config's diff IDs
 *   do not match the layers, and for malformed documents.
 * @throws FailedPreconditionError `wrong diff id calculated on extraction "<d>"` when a layer's content
 *   does not match its diff ID (its extraction snapshot is removed).
 * @throws what the snapshotter and the diff service throw.
 */
export async function unpack(svc: ImageServices, ctx: Context, image: ImageRef, options: UnpackOptions = {}): Promise<UnpackResult> {
  return withLease(svc, ctx, async (ctx) => {
    const target = await imageTarget(svc, ctx, image);
    const { manifest } = await resolveManifest(svc.content, ctx, target, unpackMatcher(options.platform));
    const config = await readImageConfig(svc.content, ctx, manifest.config);
    const snapshotter = await resolveSnapshotter(svc, ctx, options.snapshotter);
    return unpackManifest(svc, ctx, { snapshotter, manifest, config, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  });
}

/**
 * True when the top layer's snapshot of the image (for the platform) exists in the snapshotter
 * (containerd's `Image.IsUnpacked`).
 * @throws as {@link unpack} for missing or malformed documents.
 */
export async function isUnpacked(svc: ImageServices, ctx: Context, image: ImageRef, options: Omit<UnpackOptions, "onProgress"> = {}): Promise<boolean> {
  const target = await imageTarget(svc, ctx, image);
  const { manifest } = await resolveManifest(svc.content, ctx, target, unpackMatcher(options.platform));
  const config = await readImageConfig(svc.content, ctx, manifest.config);
  const chain = chainIds(config.rootfs.diffIds);
  const top = chain.at(-1);
  if (top === undefined) return true;
  const snapshotter = await resolveSnapshotter(svc, ctx, options.snapshotter);
  try {
    await svc.snapshots(snapshotter).stat(ctx, top);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** What {@link unpackManifest} unpacks. */
export interface UnpackManifestOptions {
  readonly snapshotter: string;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  /** Resolves when the layer's blob is in the content store (a pull unpacks while it downloads). */
  readonly ready?: (layer: Descriptor) => Promise<void>;
  readonly onProgress?: ProgressFn;
}

/**
 * Applies the manifest's layers in order (snapshots that exist are skipped), labels the layer blobs
 * applied now with their diff ID and the config with the top snapshot. Layers are applied as soon as they
 * and their parent are ready, so with `ready` the applies overlap the downloads of later layers.
 * @throws as {@link unpack}.
 */
export async function unpackManifest(svc: ImageServices, ctx: Context, options: UnpackManifestOptions): Promise<UnpackResult> {
  const { manifest, config, snapshotter } = options;
  const layers = manifest.layers;
  const diffIds = config.rootfs.diffIds;
  if (layers.length !== diffIds.length) {
    throw new InvalidArgumentError(`mismatched image rootfs and manifest layers: ${diffIds.length} diff IDs, ${layers.length} layers`);
  }
  const sn = svc.snapshots(snapshotter);
  const chain = chainIds(diffIds);
  let applied = 0;
  const top = chain.at(-1);
  if (top !== undefined && !(await exists(sn, ctx, top))) {
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      const chainId = chain[i]!;
      if (await exists(sn, ctx, chainId)) continue;
      const ref = refKey(layer);
      report(options.onProgress, { ref, status: "unpacking", offset: 0, total: layer.size, descriptor: layer });
      const didApply = await applyLayer(svc, ctx, sn, {
        layer,
        diffId: diffIds[i]!,
        chainId,
        ...(i > 0 ? { parent: chain[i - 1]! } : {}),
        ...(options.ready !== undefined ? { ready: options.ready } : {}),
      });
      if (didApply) {
        applied++;
        // The uncompressed digest is now verified by the apply.
        await svc.content.update(ctx, { digest: layer.digest, labels: { [labelUncompressed]: diffIds[i]! } }, [`labels.${labelUncompressed}`]);
      }
      report(options.onProgress, { ref, status: "unpacked", offset: layer.size, total: layer.size, descriptor: layer });
    }
  }
  const chainId = (top ?? "") as Digest;
  if (top !== undefined) {
    const key = `${labelGcRefSnapshotPrefix}${snapshotter}`;
    await svc.content.update(ctx, { digest: manifest.config.digest, labels: { [key]: top } }, [`labels.${key}`]);
  }
  return { snapshotter, chainId, layers: layers.length, applied };
}

async function exists(sn: Snapshotter, ctx: Context, key: string): Promise<boolean> {
  try {
    await sn.stat(ctx, key);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw withContext(err, `failed to stat snapshot ${key}`);
  }
}

interface LayerToApply {
  readonly layer: Descriptor;
  readonly diffId: Digest;
  readonly chainId: Digest;
  readonly parent?: Digest;
  readonly ready?: (layer: Descriptor) => Promise<void>;
}

/**
 * Prepares, applies and commits one layer (containerd's `applyLayers` for one layer). Returns false when
 * another client committed the same chain ID meanwhile.
 */
async function applyLayer(svc: ImageServices, ctx: Context, sn: Snapshotter, l: LayerToApply): Promise<boolean> {
  let key = "";
  let mounts: Mount[];
  for (let attempt = 0; ; attempt++) {
    key = `extract-${uniquePart()} ${l.chainId}`;
    try {
      mounts = await sn.prepare(ctx, key, l.parent ?? "");
      break;
    } catch (err) {
      if (isAlreadyExists(err) && attempt < 3) {
        if (await exists(sn, ctx, l.chainId)) return false;
        continue;
      }
      throw withContext(err, `failed to prepare extraction snapshot "${key}"`);
    }
  }
  try {
    if (l.ready !== undefined) await l.ready(l.layer);
    let applied: Descriptor;
    try {
      applied = await svc.diff.apply(ctx, l.layer, mounts);
    } catch (err) {
      throw withContext(err, `failed to extract layer ${l.diffId}`);
    }
    if (applied.digest !== l.diffId) {
      throw new FailedPreconditionError(`wrong diff id calculated on extraction "${applied.digest}", expected "${l.diffId}"`);
    }
    try {
      await sn.commit(ctx, l.chainId, key);
    } catch (err) {
      if (isAlreadyExists(err)) {
        await sn.remove(ctx, key).catch(() => undefined);
        return false;
      }
      throw withContext(err, `failed to commit snapshot ${key}`);
    }
    return true;
  } catch (err) {
    await sn.remove({ ...ctx, signal: AbortSignal.timeout(30_000) }, key).catch(() => undefined);
    throw err;
  }
}
