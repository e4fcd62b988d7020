/**
 * Pulling an image (containerd's `Client.Pull`): resolve the reference, fetch the manifest for the
 * platform (or every platform) with its config and layers into the content store, optionally unpack it
 * into a snapshotter while the layers download, and record the image — all under one temporary lease,
 * so an interrupted pull leaves only garbage the collector removes.
 */
import type { Platform } from "@containerts/content";
import { type Image, formatPlatform, imagePlatforms, onlyPlatform, readImageConfig } from "@containerts/images";
import type { Context } from "@containerts/namespaces";

import { parseReference } from "../remotes/reference.js";
import { withLease } from "../lease.js";
import {
  type RemoteOptions,
  ImageFetcher,
  createOrUpdateImage,
  registryFor,
  resolveReference,
  walkOptions,
} from "./fetch.js";
import { type PlatformSpec, anyPlatform, matcherFor } from "./platform.js";
import { type ProgressFn, report } from "./progress.js";
import { type ImageServices, resolveSnapshotter } from "./services.js";
import { unpack, unpackManifest } from "./unpack.js";

/** Options of {@link pull}. */
export interface PullOptions extends RemoteOptions {
  /** Unpack the image into the snapshotter (default false, as the Go client's `Pull`). */
  readonly unpack?: boolean;
  /** The platform to pull (default: the host's, with containerd's fallbacks). Ignored with `allPlatforms`. */
  readonly platform?: PlatformSpec;
  /** Pull every platform of an index (and, with `unpack`, unpack each). */
  readonly allPlatforms?: boolean;
  /** Snapshotter to unpack into (default: the namespace's default, else `overlayfs`). */
  readonly snapshotter?: string;
  /** Labels of the image record. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Called on every change of a blob's transfer (and of each layer's unpacking). */
  readonly onProgress?: ProgressFn;
  /** Blobs downloaded at once (default 3). */
  readonly maxConcurrentDownloads?: number;
  /** Retries of a download that stops making progress (default 5). */
  readonly retries?: number;
}

/**
 * Pulls `ref` from its registry and records the image under `ref` as given; returns the image record.
 *
 * Without `allPlatforms` only the best manifest for the platform is fetched (an index's other manifests
 * are not), and with `unpack` its layers are applied in order as soon as each has downloaded, while the
 * later ones are still downloading. The record is written last, after the unpack.
 *
 * @throws NotFoundError `failed to resolve reference "<ref>": …` for an unknown reference, `no match for
 *   platform in manifest …` when an index has nothing for the platform.
 * @throws FailedPreconditionError for a manifest over 4 MiB; `failed commit on ref …` when the registry
 *   served bytes that do not match their digest (nothing of that blob is committed); a layer whose content
 *   does not match its diff ID.
 * @throws InvalidArgumentError for a malformed reference, manifest, index or config.
 * @throws UnavailableError when the registry cannot be reached or keeps cutting a download.
 * @throws CanceledError when `ctx.signal` aborts (what was written stays only under the deleted lease).
 */
export async function pull(svc: ImageServices, ctx: Context, ref: string, options: PullOptions = {}): Promise<Image> {
  const registry = registryFor(parseReference(ref), options);
  const all = options.allPlatforms === true;
  const matcher = all ? anyPlatform : matcherFor(options.platform);
  return withLease(svc, ctx, async (ctx) => {
    const snapshotter = options.unpack === true ? await resolveSnapshotter(svc, ctx, options.snapshotter) : "";
    report(options.onProgress, { ref, status: "resolving", offset: 0, total: 0 });
    const target = await resolveReference(registry, ref, ctx.signal);
    report(options.onProgress, { ref, status: "resolved", offset: 0, total: 0, descriptor: target });

    let unpacking = false;
    const fetcher: ImageFetcher = new ImageFetcher(svc, ctx, registry, {
      ...walkOptions(options, 1, matcher),
      ...(options.unpack === true && !all
        ? {
            onManifest: (_desc, manifest) => {
              if (unpacking) return;
              unpacking = true;
              fetcher.spawn(async () => {
                const fctx = fetcher.context;
                await fetcher.blob(manifest.config.digest);
                const config = await readImageConfig(svc.content, fctx, manifest.config);
                await unpackManifest(svc, fctx, {
                  snapshotter,
                  manifest,
                  config,
                  ready: (layer) => fetcher.blob(layer.digest),
                  ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
                });
              });
            },
          }
        : {}),
    });
    await fetcher.run(target);

    if (options.unpack === true && all) {
      for (const p of await distinctPlatforms(svc, ctx, target)) {
        await unpack(svc, ctx, target, { snapshotter, platform: onlyPlatform(p), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
      }
    }
    return createOrUpdateImage(svc, ctx, { name: ref, target, ...(options.labels !== undefined ? { labels: options.labels } : {}) });
  });
}

/** The platforms of an image, each once, in walk order. */
async function distinctPlatforms(svc: ImageServices, ctx: Context, target: Image["target"]): Promise<Platform[]> {
  const seen = new Map<string, Platform>();
  for (const p of await imagePlatforms(svc.content, ctx, target)) {
    const key = formatPlatform(p);
    if (!seen.has(key)) seen.set(key, p);
  }
  return [...seen.values()];
}
