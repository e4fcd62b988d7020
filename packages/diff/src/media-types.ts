/**
 * Layer media types and the compression they imply (containerd's `images.DiffCompression`).
 */

/** OCI and Docker layer media types. */
export const LayerMediaType = {
  OciLayer: "application/vnd.oci.image.layer.v1.tar",
  OciLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  OciLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  OciLayerNonDistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  OciLayerNonDistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  OciLayerNonDistributableZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  DockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  DockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  DockerLayerForeign: "application/vnd.docker.image.rootfs.foreign.diff.tar",
  DockerLayerForeignGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

/** The label that records a compressed layer's uncompressed digest (its diff ID). */
export const UNCOMPRESSED_LABEL = "containerd.io/uncompressed";

/**
 * What a layer media type says about compression, as containerd's `DiffCompression`:
 * `"gzip"` or `"zstd"` (declared), `"unknown"` (Docker's uncompressed types, which may be compressed
 * anyway), `""` (uncompressed, or wrapped by another processor), or `undefined` when the media type is
 * not a layer at all. Anything but `""` is decompressed by magic-number detection.
 */
export function diffCompression(mediaType: string): "gzip" | "zstd" | "unknown" | "" | undefined {
  const [base = "", ...rest] = mediaType.split("+");
  const ext = rest.sort();
  switch (base) {
    case LayerMediaType.DockerLayer:
    case LayerMediaType.DockerLayerForeign:
      return ext.length > 0 ? "" : "unknown";
    case LayerMediaType.DockerLayerGzip:
    case LayerMediaType.DockerLayerForeignGzip:
      return ext.length > 0 ? "" : "gzip";
    case LayerMediaType.OciLayer:
    case LayerMediaType.OciLayerNonDistributable: {
      const last = ext[ext.length - 1];
      return last === "gzip" ? "gzip" : last === "zstd" ? "zstd" : "";
    }
    default:
      return undefined;
  }
}
