/**
 * Media types of OCI and Docker image documents and layers (containerd's `images/mediatypes.go` and
 * image-spec's `specs-go/v1/mediatype.go`), and the predicates the image model uses to tell them apart.
 */
import { NotImplementedError } from "@containerts/errdefs";

/** The media types containerd knows, as a const object of their strings. */
export const MediaType = {
  /** OCI image index (children: manifests). */
  OciIndex: "application/vnd.oci.image.index.v1+json",
  /** OCI image manifest (children: config, layers). */
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  /** OCI image config. */
  OciConfig: "application/vnd.oci.image.config.v1+json",
  /** OCI image layout header (`oci-layout`). */
  OciLayoutHeader: "application/vnd.oci.layout.header.v1+json",
  /** OCI layer, uncompressed tar. */
  OciLayer: "application/vnd.oci.image.layer.v1.tar",
  /** OCI layer, gzip-compressed tar. */
  OciLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  /** OCI layer, zstd-compressed tar. */
  OciLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  /** OCI non-distributable (foreign) layer, uncompressed. */
  OciLayerNonDistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  /** OCI non-distributable layer, gzip. */
  OciLayerNonDistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  /** OCI non-distributable layer, zstd. */
  OciLayerNonDistributableZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  /** Docker manifest list (schema 2). */
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  /** Docker manifest (schema 2). */
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  /** Docker image config. */
  DockerConfig: "application/vnd.docker.container.image.v1+json",
  /** Docker layer, uncompressed tar. */
  DockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  /** Docker layer, gzip. */
  DockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  /** Docker foreign layer, uncompressed. */
  DockerLayerForeign: "application/vnd.docker.image.rootfs.foreign.diff.tar",
  /** Docker foreign layer, gzip. */
  DockerLayerForeignGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  /** Docker schema 1 manifest (signed); not supported by the image model. */
  DockerSchema1Manifest: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  /** Legacy Docker config served as octet-stream (converted client-side by fetchers). */
  OctetStream: "application/octet-stream",
  /** OCI layer, uncompressed, encrypted. */
  OciLayerEncrypted: "application/vnd.oci.image.layer.v1.tar+encrypted",
  /** OCI layer, gzip, encrypted. */
  OciLayerGzipEncrypted: "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
  /** containerd checkpoint: CRIU image tar. */
  ContainerdCheckpoint: "application/vnd.containerd.container.criu.checkpoint.criu.tar",
  /** containerd checkpoint: CRIU pre-dump tar. */
  ContainerdCheckpointPreDump: "application/vnd.containerd.container.criu.checkpoint.predump.tar",
  /** containerd checkpoint: container resources. */
  ContainerdResource: "application/vnd.containerd.container.resource.tar",
  /** containerd checkpoint: read-write layer. */
  ContainerdRW: "application/vnd.containerd.container.rw.tar",
  /** containerd checkpoint: config. */
  ContainerdCheckpointConfig: "application/vnd.containerd.container.checkpoint.config.v1+proto",
  /** containerd checkpoint: options. */
  ContainerdCheckpointOptions: "application/vnd.containerd.container.checkpoint.options.v1+proto",
  /** containerd checkpoint: runtime name. */
  ContainerdCheckpointRuntimeName: "application/vnd.containerd.container.checkpoint.runtime.name",
  /** containerd checkpoint: runtime options. */
  ContainerdCheckpointRuntimeOptions: "application/vnd.containerd.container.checkpoint.runtime.options+proto",
} as const;

/** Splits a media type into its base and its sorted `+` suffixes (`a+zstd+enc` → `a`, `[enc, zstd]`). */
function parseMediaType(mt: string): { base: string; ext: string[] } {
  if (mt === "") return { base: "", ext: [] };
  const [base = "", ...ext] = mt.split("+");
  return { base, ext: ext.sort() };
}

/** True for OCI and Docker layer media types, compressed or not (with any `+` suffix). */
export function isLayerType(mt: string): boolean {
  if (mt.startsWith("application/vnd.oci.image.layer.")) return true;
  const { base } = parseMediaType(mt);
  return (
    base === MediaType.DockerLayer ||
    base === MediaType.DockerLayerGzip ||
    base === MediaType.DockerLayerForeign ||
    base === MediaType.DockerLayerForeignGzip
  );
}

/** True for non-distributable (foreign) layers, which registries do not serve. */
export function isNonDistributable(mt: string): boolean {
  return mt.startsWith("application/vnd.oci.image.layer.nondistributable.") || mt.startsWith("application/vnd.docker.image.rootfs.foreign.");
}

/** True for Docker media types. */
export function isDockerType(mt: string): boolean {
  return mt.startsWith("application/vnd.docker.");
}

/** True for an image manifest (OCI or Docker schema 2). */
export function isManifestType(mt: string): boolean {
  return mt === MediaType.OciManifest || mt === MediaType.DockerManifest;
}

/** True for an index (OCI index or Docker manifest list). */
export function isIndexType(mt: string): boolean {
  return mt === MediaType.OciIndex || mt === MediaType.DockerManifestList;
}

/** True for an image config (OCI or Docker). */
export function isConfigType(mt: string): boolean {
  return mt === MediaType.OciConfig || mt === MediaType.DockerConfig;
}

/** True for the config media types containerd treats as childless configs (image configs and checkpoint configs). */
export function isKnownConfig(mt: string): boolean {
  return isConfigType(mt) || mt === MediaType.ContainerdCheckpoint || mt === MediaType.ContainerdCheckpointConfig;
}

/** The compression of a layer's data, as {@link diffCompression} reports it. */
export type DiffCompression = "" | "gzip" | "zstd" | "unknown";

/**
 * The compression of a layer media type (containerd's `DiffCompression`): `"gzip"`, `"zstd"`, `""` for an
 * uncompressed OCI layer or any layer with a suffix the diff service must handle itself (such as
 * `+encrypted`), `"unknown"` for an uncompressed Docker layer (Docker never said; sniff the data).
 * @throws NotImplementedError `unrecognised mediatype <mt>` for a media type that is not a layer.
 */
export function diffCompression(mt: string): DiffCompression {
  const { base, ext } = parseMediaType(mt);
  switch (base) {
    case MediaType.DockerLayer:
    case MediaType.DockerLayerForeign:
      return ext.length > 0 ? "" : "unknown";
    case MediaType.DockerLayerGzip:
    case MediaType.DockerLayerForeignGzip:
      return ext.length > 0 ? "" : "gzip";
    case MediaType.OciLayer:
    case MediaType.OciLayerNonDistributable: {
      const last = ext.at(-1);
      return last === "gzip" ? "gzip" : last === "zstd" ? "zstd" : "";
    }
    default:
      throw new NotImplementedError(`unrecognised mediatype ${mt}`);
  }
}
