/**
 * The image model over a content provider (containerd's `images/image.go`): pick the manifest for a
 * platform, read its config and diff IDs, list an image's platforms, sum its size, and check which of
 * its blobs are present.
 */
import type { Descriptor, Digest, Platform, Provider } from "@containerts/content";
import { InvalidArgumentError, NotFoundError, isNotFound } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";

import { isConfigType, isIndexType, isManifestType } from "./media-types.js";
import type { ImageConfig, ImageManifest } from "./oci.js";
import { type PlatformMatchComparer, normalizePlatform } from "./platforms.js";
import { readImageConfig, readIndex, readManifest } from "./read.js";
import { childrenHandler, filterPlatforms, limitManifests, skipChildren, sortByPlatform, walk } from "./walk.js";

/** A manifest chosen for a platform, with the descriptor it was read from. */
export interface ResolvedManifest {
  /** The manifest's descriptor (the image target itself when the target is a manifest). */
  readonly descriptor: Descriptor;
  readonly manifest: ImageManifest;
}

/**
 * Resolves the manifest of `image` (an index, manifest list or manifest descriptor) for `platform`
 * (containerd's `images.Manifest`):
 *
 * - an index's manifests are filtered by their `platform` (those without one are kept), sorted by
 *   preference, and the best is followed (nested indexes too);
 * - a manifest reached through an index without a platform is checked against its config's
 *   `os`/`architecture`;
 * - a target that is itself a manifest is returned as is, whatever its platform;
 * - without `platform`, the first manifest found is returned.
 *
 * @throws NotFoundError `no match for platform in manifest <digest>` when an index has nothing for the
 *   platform, `manifest <digest>` when no manifest was found, `unexpected media type <mt> for <digest>`
 *   for a descriptor that is neither index nor manifest, or when a blob is absent.
 * @throws InvalidArgumentError / FailedPreconditionError for malformed or oversized documents.
 */
export async function resolveManifest(
  provider: Provider,
  ctx: Context,
  image: Descriptor,
  platform?: PlatformMatchComparer,
): Promise<ResolvedManifest> {
  const found: ResolvedManifest[] = [];
  let wasIndex = false;
  await walk(ctx, async (ctx, desc) => {
    if (found.length > 0) return skipChildren;
    if (isManifestType(desc.mediaType)) {
      const manifest = await readManifest(provider, ctx, desc);
      if (desc.digest !== image.digest && platform !== undefined) {
        if (desc.platform !== undefined && !platform.match(desc.platform)) return undefined;
        if (desc.platform === undefined) {
          const config = await readImageConfig(provider, ctx, manifest.config);
          if (!platform.match(normalizePlatform({ os: config.os, architecture: config.architecture }))) return undefined;
        }
      }
      found.push({ descriptor: desc, manifest });
      return undefined;
    }
    if (isIndexType(desc.mediaType)) {
      const index = await readIndex(provider, ctx, desc);
      wasIndex = true;
      if (platform === undefined) return index.manifests;
      const matching = index.manifests.filter((d) => d.platform === undefined || platform.match(d.platform));
      return sortByPlatform(matching, platform).slice(0, 1);
    }
    throw new NotFoundError(`unexpected media type ${desc.mediaType} for ${desc.digest}`);
  }, [image]);
  const first = found[0];
  if (first === undefined) {
    throw new NotFoundError(wasIndex ? `no match for platform in manifest ${image.digest}` : `manifest ${image.digest}`);
  }
  return first;
}

/** The manifest of `image` for `platform`: {@link resolveManifest} without the descriptor. */
export async function manifest(provider: Provider, ctx: Context, image: Descriptor, platform?: PlatformMatchComparer): Promise<ImageManifest> {
  return (await resolveManifest(provider, ctx, image, platform)).manifest;
}

/**
 * The config descriptor of `image` for `platform` (containerd's `images.Config`).
 * @throws as {@link resolveManifest}.
 */
export async function config(provider: Provider, ctx: Context, image: Descriptor, platform?: PlatformMatchComparer): Promise<Descriptor> {
  return (await resolveManifest(provider, ctx, image, platform)).manifest.config;
}

/**
 * The diff IDs (uncompressed layer digests, bottom layer first) of the config `configDesc`
 * (containerd's `images.RootFS`).
 * @throws NotFoundError when the config is absent; InvalidArgumentError / FailedPreconditionError
 *   when it is malformed or oversized.
 */
export async function rootFS(provider: Provider, ctx: Context, configDesc: Pick<Descriptor, "digest" | "size">): Promise<Digest[]> {
  return [...(await readImageConfig(provider, ctx, configDesc)).rootfs.diffIds];
}

/** The image config of `image` for `platform`, parsed. */
export async function imageConfig(provider: Provider, ctx: Context, image: Descriptor, platform?: PlatformMatchComparer): Promise<ImageConfig> {
  return readImageConfig(provider, ctx, await config(provider, ctx, image, platform));
}

/**
 * The platforms an image supports (containerd's `images.Platforms`): the `platform` of every index
 * entry that has one (not followed further), and for manifests without one, the normalized
 * `os`/`architecture` of their config. Duplicates are kept, in walk order.
 * @throws as the walk: absent, malformed or oversized documents.
 */
export async function imagePlatforms(provider: Provider, ctx: Context, image: Descriptor): Promise<Platform[]> {
  const out: Platform[] = [];
  const childrenOf = childrenHandler(provider);
  await walk(ctx, async (ctx, desc) => {
    if (desc.platform !== undefined) {
      out.push(desc.platform);
      return skipChildren;
    }
    if (isConfigType(desc.mediaType)) {
      const c = await readImageConfig(provider, ctx, desc);
      out.push(normalizePlatform({ os: c.os, architecture: c.architecture }));
      return undefined;
    }
    return childrenOf(ctx, desc);
  }, [image]);
  return out;
}

/**
 * The packed size of an image for `platform` (containerd's `Image.Size`): the sizes of the target, the
 * chosen manifest (one per index level), its config and its layers, summed.
 * @throws InvalidArgumentError `invalid size <n> in <digest> (<mt>)` for a negative size; as the walk
 *   otherwise (absent blobs: NotFoundError).
 */
export async function size(provider: Provider, ctx: Context, image: Descriptor, platform: PlatformMatchComparer): Promise<number> {
  let total = 0;
  const next = limitManifests(filterPlatforms(childrenHandler(provider), platform), platform, 1);
  await walk(ctx, async (ctx, desc) => {
    if (desc.size < 0) throw new InvalidArgumentError(`invalid size ${desc.size} in ${desc.digest} (${desc.mediaType})`);
    total += desc.size;
    return next(ctx, desc);
  }, [image]);
  return total;
}

/** The result of {@link check}. */
export interface CheckResult {
  /**
   * True when the manifest for the platform could be resolved; then `required` is the complete list of
   * blobs the image needs (config and layers) and `missing` what of it is absent.
   */
  readonly available: boolean;
  readonly required: readonly Descriptor[];
  readonly present: readonly Descriptor[];
  readonly missing: readonly Descriptor[];
}

/**
 * Checks which blobs of an image are present for `platform` (containerd's `images.Check`, behind
 * `ctr images check`): when the manifest cannot be resolved because something is absent, the image is
 * not available and the target itself is reported missing; otherwise the config and layers are each
 * looked up.
 * @throws other errors than NotFound (malformed documents, cancellation).
 */
export async function check(provider: Provider, ctx: Context, image: Descriptor, platform: PlatformMatchComparer): Promise<CheckResult> {
  let m: ImageManifest;
  try {
    m = await manifest(provider, ctx, image, platform);
  } catch (err) {
    if (isNotFound(err)) return { available: false, required: [image], present: [], missing: [image] };
    throw err;
  }
  const required = [m.config, ...m.layers];
  const present: Descriptor[] = [];
  const missing: Descriptor[] = [];
  for (const desc of required) {
    try {
      const ra = await provider.readerAt(ctx, desc);
      await ra.close();
      present.push(desc);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      missing.push(desc);
    }
  }
  return { available: true, required, present, missing };
}
