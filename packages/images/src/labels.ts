/**
 * Labels and annotations with protocol meaning for images (api-compat §12.2), and the garbage-collection
 * labels a fetcher or importer puts on a parent blob so that its children stay alive (containerd's
 * `ChildGCLabels` and `SetChildrenMappedLabels`, §4.5).
 */
import type { ContentInfo, Descriptor, Manager } from "@containerts/content";
import type { Context } from "@containerts/namespaces";

import { isKnownConfig, isLayerType, isManifestType } from "./media-types.js";
import type { ChildrenHandler } from "./walk.js";

/** Label prefix referencing content kept alive by a blob (`containerd.io/gc.ref.content`). */
export const labelGcRefContent = "containerd.io/gc.ref.content";
/** Key of the label referencing a manifest's config. */
export const labelGcRefContentConfig = "containerd.io/gc.ref.content.config";
/** Key prefix of the labels referencing an index's manifests (`m.0`, `m.1`, …). */
export const labelGcRefContentManifestPrefix = "containerd.io/gc.ref.content.m.";
/** Key prefix of the labels referencing a manifest's layers (`l.0`, `l.1`, …). */
export const labelGcRefContentLayerPrefix = "containerd.io/gc.ref.content.l.";
/** Key prefix of the labels referencing other children (`containerd.io/gc.ref.content.0`, …). */
export const labelGcRefContentPrefix = "containerd.io/gc.ref.content.";
/** Label prefix referencing a snapshot in a snapshotter: `containerd.io/gc.ref.snapshot.<snapshotter>`. */
export const labelGcRefSnapshotPrefix = "containerd.io/gc.ref.snapshot.";
/** Label on a compressed layer blob: its diff ID (uncompressed digest). */
export const labelUncompressed = "containerd.io/uncompressed";
/** Label prefix recording where a blob was fetched from: `containerd.io/distribution.source.<host>`. */
export const labelDistributionSourcePrefix = "containerd.io/distribution.source.";
/** Descriptor annotation (index.json, import/export) holding the full image name. */
export const annotationImageName = "io.containerd.image.name";
/** OCI descriptor annotation holding the reference name (tag) of a manifest in an image layout. */
export const annotationRefName = "org.opencontainers.image.ref.name";

/** Maps a child descriptor to the label key(s) its parent references it with. */
export type GcLabelMap = (desc: Descriptor) => readonly string[];

/**
 * The label key prefix a parent uses for a child (containerd's `ChildGCLabels`): `…content.config` for
 * configs, `…content.m.` for manifests, `…content.l.` for layers, `…content.` otherwise.
 */
export const childGcLabels: GcLabelMap = (desc) => {
  const mt = desc.mediaType;
  if (isKnownConfig(mt)) return [labelGcRefContentConfig];
  if (isManifestType(mt)) return [labelGcRefContentManifestPrefix];
  if (isLayerType(mt)) return [labelGcRefContentLayerPrefix];
  return [labelGcRefContentPrefix];
};

/** {@link childGcLabels} without layers (containerd's `ChildGCLabelsFilterLayers`, for fetches that skip layers). */
export const childGcLabelsFilterLayers: GcLabelMap = (desc) => (isLayerType(desc.mediaType) ? [] : childGcLabels(desc));

/**
 * The labels a parent blob gets for its children, with containerd's key-suffix rule: a key ending in
 * `.` always gets the child's index among the children with that key (`l.0`, `l.1`, …); another key
 * is bare the first time and numbered after (`config`, `config1`, …). Values are the children's digests.
 */
export function childrenGcLabels(children: readonly Descriptor[], labelMap: GcLabelMap = childGcLabels): Record<string, string> {
  const labels: Record<string, string> = {};
  const seen = new Map<string, number>();
  for (const child of children) {
    for (const base of labelMap(child)) {
      const idx = seen.get(base) ?? 0;
      seen.set(base, idx + 1);
      const key = idx > 0 || base.endsWith(".") ? `${base}${idx}` : base;
      labels[key] = child.digest;
    }
  }
  return labels;
}

/**
 * Wraps a children handler so that, whenever a descriptor has children, the parent blob is labelled
 * with {@link childrenGcLabels} through `manager.update` (one update whose field paths list each
 * `labels.<key>`), as fetchers and importers do (containerd's `SetChildrenMappedLabels`).
 * @throws what `manager.update` throws (NotFound when the parent blob is absent).
 */
export function setChildrenLabels(manager: Pick<Manager, "update">, f: ChildrenHandler, labelMap: GcLabelMap = childGcLabels): ChildrenHandler {
  return async (ctx: Context, desc: Descriptor) => {
    const ch = await f(ctx, desc);
    if (ch.length > 0) {
      const labels = childrenGcLabels(ch, labelMap);
      const keys = Object.keys(labels);
      if (keys.length > 0) {
        const info: Pick<ContentInfo, "digest"> & Partial<ContentInfo> = { digest: desc.digest, labels };
        await manager.update(ctx, info, keys.map((k) => `labels.${k}`));
      }
    }
    return ch;
  };
}
