/**
 * Walking an image's tree of descriptors (containerd's `images/handlers.go`): a {@link Handler} is
 * called for each descriptor and returns the children to visit next; `walk` visits depth first. The
 * building blocks compose like upstream's: `childrenHandler` reads indexes and manifests,
 * `filterPlatforms` drops children for other platforms, `limitManifests` keeps the best `n`.
 */
import type { Descriptor, Provider } from "@containerts/content";
import { NotFoundError } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";

import { isIndexType, isKnownConfig, isLayerType, isManifestType } from "./media-types.js";
import type { PlatformMatchComparer, PlatformMatcher } from "./platforms.js";
import { readIndex, readManifest } from "./read.js";

/**
 * Returned by a handler to say "do not visit this descriptor's children" (containerd's `ErrSkipDesc`);
 * in {@link handlers} it also stops the handlers after it.
 */
export const skipChildren: unique symbol = Symbol("containerts.images.skipChildren");

/** What a handler returns: the children to visit (none: `undefined` or `[]`), or {@link skipChildren}. */
export type HandlerResult = readonly Descriptor[] | undefined | typeof skipChildren;

/** Called for each descriptor of a walk (containerd's `images.Handler`). */
export type Handler = (ctx: Context, desc: Descriptor) => Promise<HandlerResult> | HandlerResult;

/** A handler that never skips: the shape of the handlers the wrappers below take. */
export type ChildrenHandler = (ctx: Context, desc: Descriptor) => Promise<readonly Descriptor[]>;

/**
 * Visits `descs` depth first: for each, calls `handler` and then walks the children it returned,
 * before moving to the next sibling (containerd's `images.Walk`). Stops at the first error (which it
 * rethrows) and when `ctx.signal` aborts.
 */
export async function walk(ctx: Context, handler: Handler, descs: readonly Descriptor[]): Promise<void> {
  for (const desc of descs) {
    ctx.signal.throwIfAborted();
    const children = await handler(ctx, desc);
    if (children === skipChildren || children === undefined || children.length === 0) continue;
    await walk(ctx, handler, children);
  }
}

/**
 * Runs several handlers for each descriptor and concatenates the children they return (containerd's
 * `images.Handlers`); a handler returning {@link skipChildren} stops the chain and skips the children.
 */
export function handlers(...hs: readonly Handler[]): Handler {
  return async (ctx, desc) => {
    const children: Descriptor[] = [];
    for (const h of hs) {
      const ch = await h(ctx, desc);
      if (ch === skipChildren) return skipChildren;
      if (ch !== undefined) children.push(...ch);
    }
    return children;
  };
}

/**
 * The immediate children of a descriptor (containerd's `images.Children`): a manifest's config then its
 * layers, an index's manifests; nothing for layers, configs and unknown media types.
 * @throws as {@link readManifest} / {@link readIndex} for a missing, oversized or malformed document.
 */
export async function children(provider: Provider, ctx: Context, desc: Descriptor): Promise<Descriptor[]> {
  if (isManifestType(desc.mediaType)) {
    const m = await readManifest(provider, ctx, desc);
    return [m.config, ...m.layers];
  }
  if (isIndexType(desc.mediaType)) {
    return [...(await readIndex(provider, ctx, desc)).manifests];
  }
  // Layers and configs have no children; unknown types are not followed (upstream logs them).
  return [];
}

/** A handler returning each descriptor's {@link children} (containerd's `ChildrenHandler`). */
export function childrenHandler(provider: Provider): ChildrenHandler {
  return (ctx, desc) => children(provider, ctx, desc);
}

/** True when a media type has no children the walk could follow (layers and known configs). */
export function isLeafType(mediaType: string): boolean {
  return isLayerType(mediaType) || isKnownConfig(mediaType);
}

/**
 * Wraps a handler so that children with a platform that `matcher` rejects are dropped (containerd's
 * `FilterPlatforms`); children without a platform are kept. No matcher keeps everything.
 */
export function filterPlatforms(f: ChildrenHandler, matcher?: PlatformMatcher): ChildrenHandler {
  return async (ctx, desc) => {
    const ch = await f(ctx, desc);
    if (matcher === undefined) return ch;
    return ch.filter((d) => d.platform === undefined || matcher.match(d.platform));
  };
}

/**
 * Stable sort of an index's manifests by platform preference: platforms `matcher` prefers first,
 * descriptors without a platform last.
 */
export function sortByPlatform(descs: readonly Descriptor[], matcher: PlatformMatchComparer): Descriptor[] {
  return [...descs].sort((a, b) => {
    if (a.platform === undefined) return b.platform === undefined ? 0 : 1;
    if (b.platform === undefined) return -1;
    if (matcher.less(a.platform, b.platform)) return -1;
    if (matcher.less(b.platform, a.platform)) return 1;
    return 0;
  });
}

/**
 * Wraps a handler so that, for an index, the children are sorted by platform preference and only the
 * first `n` are kept (`n <= 0`: all, sorted) (containerd's `LimitManifests`).
 * @throws NotFoundError `no match for platform in manifest` when an index has no child left and `n > 0`.
 */
export function limitManifests(f: ChildrenHandler, matcher: PlatformMatchComparer, n: number): ChildrenHandler {
  return async (ctx, desc) => {
    const ch = await f(ctx, desc);
    if (!isIndexType(desc.mediaType)) return ch;
    const sorted = sortByPlatform(ch, matcher);
    if (n > 0) {
      if (sorted.length === 0) throw new NotFoundError(`no match for platform in manifest ${desc.digest}`);
      return sorted.slice(0, n);
    }
    return sorted;
  };
}
