/**
 * Pushing an image to a registry (containerd's `Client.Push` with `remotes.PushContent`): the image's
 * tree is walked from the content store; blobs the registry lacks are uploaded (a bounded number at a
 * time), by cross-repository mount when a blob's `containerd.io/distribution.source.<host>` label names
 * another repository of the same registry; manifests and indexes go last, children before parents, and
 * the root is pushed under the tag at the very end.
 */
import type { Descriptor, Digest } from "@containerts/content";
import { readBlob } from "@containerts/content";
import { InvalidArgumentError, NotFoundError, withContext } from "@containerts/errdefs";
import {
  type PlatformMatcher,
  childrenHandler,
  filterPlatforms,
  isIndexType,
  isManifestType,
  isNonDistributable,
  platformMatcher,
  readIndex,
} from "@containerts/images";
import type { Context } from "@containerts/namespaces";

import { Semaphore, TaskGroup } from "../internal/concurrency.js";
import { parseReference } from "../remotes/reference.js";
import type { Registry } from "../remotes/registry.js";
import { type RemoteOptions, distributionSourceKey, registryFor } from "./fetch.js";
import { type PlatformSpec, toPlatform } from "./platform.js";
import { type ProgressFn, report } from "./progress.js";
import { type ImageServices, refKey } from "./services.js";
import { type ImageRef, imageTarget } from "./unpack.js";

/** Options of {@link push}. */
export interface PushOptions extends RemoteOptions {
  /**
   * Push only this platform's manifest of an index (as `ctr images push --platform`); by default the
   * whole tree is pushed, so every manifest of an index must be present.
   */
  readonly platform?: PlatformSpec;
  /** Called on every change of a blob's upload. */
  readonly onProgress?: ProgressFn;
  /** Blobs uploaded at once (default 3). */
  readonly maxConcurrentUploads?: number;
  /** Upload blobs in PATCH chunks of this many bytes (default: one monolithic PUT). */
  readonly chunkSize?: number;
  /** Also push non-distributable (foreign) layers (default false: they are skipped). */
  readonly allowNonDistributable?: boolean;
}

/**
 * The repository of the same registry host to mount a blob from (containerd's
 * `selectRepositoryMountCandidate`): among the repositories of the blob's distribution-source label
 * other than the target, the one sharing the longest path prefix with the target.
 */
export function mountCandidate(labels: Readonly<Record<string, string>>, host: string, targetRepo: string): string | undefined {
  const value = labels[distributionSourceKey(host)];
  if (value === undefined || value === "") return undefined;
  const target = targetRepo.split("/");
  let best: string | undefined;
  let bestLen = 0;
  for (const repo of value.split(",")) {
    if (repo === "" || repo === targetRepo) continue;
    const parts = repo.split("/");
    let n = 0;
    while (n < parts.length && n < target.length && parts[n] === target[n]) n++;
    if (n >= bestLen) {
      bestLen = n;
      best = repo;
    }
  }
  return best;
}

/**
 * Pushes an image (by name, record or descriptor) to `ref` and returns the descriptor pushed under the
 * reference's tag.
 *
 * @throws NotFoundError when the image or one of its blobs is missing locally, or `--platform` matches
 *   no manifest.
 * @throws InvalidArgumentError for a malformed reference.
 * @throws what the registry answers (Unauthenticated, PermissionDenied, Unavailable, …).
 */
export async function push(svc: ImageServices, ctx: Context, ref: string, image: ImageRef, options: PushOptions = {}): Promise<Descriptor> {
  const reference = parseReference(ref);
  const registry = registryFor(reference, options);
  let root = await imageTarget(svc, ctx, image);
  let matcher: PlatformMatcher | undefined;
  if (options.platform !== undefined && options.platform !== "") {
    matcher = platformMatcher(toPlatform(options.platform));
    if (isIndexType(root.mediaType)) {
      const chosen = (await readIndex(svc.content, ctx, root)).manifests.find((m) => m.platform !== undefined && matcher!.match(m.platform));
      if (chosen === undefined) throw new NotFoundError(`no manifest for platform ${String(options.platform)} in ${root.digest}`);
      root = chosen;
    }
  }

  const group = new TaskGroup(ctx.signal);
  const gctx: Context = { ...ctx, signal: group.signal };
  const limiter = new Semaphore(options.maxConcurrentUploads ?? 3);
  const manifests: Descriptor[] = [];
  const seen = new Set<Digest>();
  const children = filterPlatforms(childrenHandler(svc.content), matcher);

  const visit = (desc: Descriptor): void => {
    if (seen.has(desc.digest)) return;
    seen.add(desc.digest);
    group.spawn(async () => {
      if (isManifestType(desc.mediaType) || isIndexType(desc.mediaType)) {
        manifests.push(desc);
        for (const child of await children(gctx, desc)) {
          if (options.allowNonDistributable !== true && isNonDistributable(child.mediaType)) continue;
          visit(child);
        }
        return;
      }
      report(options.onProgress, { ref: refKey(desc), status: "waiting", offset: 0, total: desc.size, descriptor: desc });
      await limiter.run(() => pushBlob(svc, gctx, registry, desc, options), gctx.signal);
    });
  };
  visit(root);
  await group.wait();

  // Children before parents; the root (first seen) last, under the tag.
  for (const desc of manifests.reverse()) {
    const key = refKey(desc);
    report(options.onProgress, { ref: key, status: "uploading", offset: 0, total: desc.size, descriptor: desc });
    const bytes = await readBlob(svc.content, ctx, desc.digest);
    const target = desc.digest === root.digest ? (reference.tag ?? desc.digest) : desc.digest;
    try {
      await registry.pushManifest(target, { mediaType: desc.mediaType, digest: desc.digest, size: desc.size }, bytes, ctx.signal);
    } catch (err) {
      throw withContext(err, `failed to push ${desc.digest} to ${registry.name}`);
    }
    report(options.onProgress, { ref: key, status: "done", offset: desc.size, total: desc.size, descriptor: desc });
  }
  return root;
}

async function pushBlob(svc: ImageServices, ctx: Context, registry: Registry, desc: Descriptor, options: PushOptions): Promise<void> {
  const key = refKey(desc);
  const info = await svc.content.info(ctx, desc.digest);
  if (info.size !== desc.size) throw new InvalidArgumentError(`blob ${desc.digest} is ${info.size} bytes, its descriptor says ${desc.size}`);
  const mountFrom = mountCandidate(info.labels, registry.ref.host, registry.ref.repository);
  let sent = 0;
  const source = async function* (): AsyncGenerator<Uint8Array> {
    sent = 0;
    for await (const chunk of svc.content.read(ctx, desc.digest)) {
      sent += chunk.byteLength;
      report(options.onProgress, { ref: key, status: "uploading", offset: sent, total: desc.size, descriptor: desc });
      yield chunk;
    }
  };
  report(options.onProgress, { ref: key, status: "uploading", offset: 0, total: desc.size, descriptor: desc });
  let how: "exists" | "mounted" | "uploaded";
  try {
    how = await registry.pushBlob({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size }, source, {
      ...(mountFrom !== undefined ? { mountFrom } : {}),
      ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
      signal: ctx.signal,
    });
  } catch (err) {
    throw withContext(err, `failed to push ${desc.digest} to ${registry.name}`);
  }
  const status = how === "exists" ? "exists" : how === "mounted" ? "mounted" : "done";
  report(options.onProgress, { ref: key, status, offset: desc.size, total: desc.size, descriptor: desc });
}
