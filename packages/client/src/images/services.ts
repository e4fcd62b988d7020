/**
 * What the image operations (pull, push, import, export, unpack) need of a client: the services they
 * drive, as domain interfaces. {@link Client} satisfies it; tests may pass local stores instead.
 */
import type { ContentStore, Descriptor } from "@containerts/content";
import type { Applier } from "@containerts/diff";
import type { ImageStore } from "@containerts/images";
import { isIndexType, isKnownConfig, isLayerType, isManifestType } from "@containerts/images";
import type { LeaseManager } from "@containerts/leases";
import type { Context, NamespaceStore } from "@containerts/namespaces";
import type { Snapshotter } from "@containerts/snapshots";

/** The services the image operations use (the Go client's `ContentStore()`, `ImageService()`, …). */
export interface ImageServices {
  readonly content: ContentStore;
  readonly images: ImageStore;
  readonly leases: LeaseManager;
  readonly diff: Applier;
  readonly namespaces: Pick<NamespaceStore, "get">;
  /** The snapshotter `name`. */
  snapshots(name: string): Snapshotter;
}

/** The snapshotter used when neither the caller nor the namespace names one. */
export const DEFAULT_SNAPSHOTTER = "overlayfs";

/** Namespace label naming the namespace's default snapshotter. */
export const labelDefaultSnapshotter = "containerd.io/defaults/snapshotter";

/**
 * The snapshotter to use (containerd's `resolveSnapshotterName`): `name` when given, else the
 * namespace's `containerd.io/defaults/snapshotter` label, else `overlayfs`.
 */
export async function resolveSnapshotter(svc: Pick<ImageServices, "namespaces">, ctx: Context, name?: string): Promise<string> {
  if (name !== undefined && name !== "") return name;
  if (ctx.namespace !== undefined && ctx.namespace !== "") {
    const ns = await svc.namespaces.get(ctx, ctx.namespace);
    const label = ns.labels[labelDefaultSnapshotter];
    if (label !== undefined && label !== "") return label;
  }
  return DEFAULT_SNAPSHOTTER;
}

/**
 * The content ingest ref a fetcher or pusher uses for a descriptor (containerd's `remotes.MakeRefKey`):
 * `manifest-<d>`, `index-<d>`, `layer-<d>`, `config-<d>` or `unknown-<d>`, where `<d>` is the digest,
 * prefixed by `<ref name>@` when the descriptor has the `org.opencontainers.image.ref.name` annotation.
 */
export function refKey(desc: Pick<Descriptor, "mediaType" | "digest" | "annotations">): string {
  const name = desc.annotations?.["org.opencontainers.image.ref.name"];
  const key = name !== undefined ? `${name}@${desc.digest}` : desc.digest;
  const mt = desc.mediaType;
  if (isManifestType(mt)) return `manifest-${key}`;
  if (isIndexType(mt)) return `index-${key}`;
  if (isLayerType(mt)) return `layer-${key}`;
  if (isKnownConfig(mt)) return `config-${key}`;
  return `unknown-${key}`;
}
