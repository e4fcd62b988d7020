/**
 * `@containerts/testimages`: test images built offline and deterministically (fixed times, owners and
 * entry order, seeded content), so their digests are the same on every run on a host.
 *
 * - {@link buildBusybox}: a one-layer busybox image from the host's static busybox.
 * - {@link buildSynthetic}: busybox plus synthetic layers with many files, whiteouts, an opaque
 *   directory, hard links and symlinks.
 * - {@link writeBusyboxRootfs}: the busybox root file system as a plain directory (no snapshotter).
 *
 * Each image builder writes an OCI layout archive by default, or a `docker save` archive
 * (`format: "docker"`, or `"docker-oci"` for the layout of Docker 25 and later).
 */
import { type BusyboxLayerOptions, addBusybox } from "./busybox.js";
import { type ArchiveOptions, type ImageArchive, writeImageArchive } from "./archive.js";
import { type BuiltLayer, LayerBuilder, materialize } from "./layer.js";
import { type SyntheticOptions, resolveSyntheticOptions, syntheticLayer } from "./synthetic.js";

export {
  type ArchiveFormat,
  type ArchiveLayer,
  type ArchiveOptions,
  type ImageArchive,
  type ImageRunConfig,
  type LayerCompression,
  BUSYBOX_IMAGE,
  CREATED,
  DEFAULT_PATH,
  familiarName,
  hostArchitecture,
  splitReference,
  writeImageArchive,
} from "./archive.js";
export { type BusyboxLayerOptions, DEFAULT_BUSYBOX, GROUP, PASSWD, addBusybox, isStaticElf, listApplets, readBusybox } from "./busybox.js";
export { type BuiltLayer, LayerBuilder, materialize, sha256 } from "./layer.js";
export { type ResolvedSyntheticOptions, type SyntheticOptions, Random, resolveSyntheticOptions, syntheticLayer } from "./synthetic.js";
export { type ReadTarEntry, type TarEntry, type TarOptions, FIXED_MTIME, readTar, writeTar } from "./tar.js";

/** Options of {@link buildBusybox}. */
export interface BusyboxImageOptions extends ArchiveOptions, BusyboxLayerOptions {}

/** Options of {@link buildSynthetic}. */
export interface SyntheticImageOptions extends ArchiveOptions, BusyboxLayerOptions, SyntheticOptions {
  /** Put the busybox layer underneath (default true), so the image runs `sh`. */
  readonly busyboxBase?: boolean;
}

/** The name {@link buildSynthetic} gives its image unless told otherwise. */
export const SYNTHETIC_IMAGE = "docker.io/containerts/synthetic:latest";

/** The busybox layer, built. */
export function busyboxLayer(options: BusyboxLayerOptions = {}): BuiltLayer {
  return addBusybox(new LayerBuilder(), options).build();
}

/**
 * Writes a one-layer busybox image archive to `outFile` (default name
 * `docker.io/library/busybox:latest`, `Cmd ["sh"]`, the usual `PATH`).
 * Errors: NotFoundError when the busybox binary is missing, FailedPreconditionError when it is not static.
 */
export async function buildBusybox(outFile: string, options: BusyboxImageOptions = {}): Promise<ImageArchive> {
  return writeImageArchive(outFile, [busyboxLayer(options)], options);
}

/**
 * Writes a multi-layer image archive to `outFile`: the busybox layer (unless `busyboxBase: false`) and
 * `layers` synthetic layers (see the fixed paths in `synthetic.ts`). Default name
 * `docker.io/containerts/synthetic:latest`. Errors: InvalidArgumentError for out-of-range options, and
 * those of {@link buildBusybox}.
 */
export async function buildSynthetic(outFile: string, options: SyntheticImageOptions = {}): Promise<ImageArchive> {
  const o = resolveSyntheticOptions(options);
  const layers: BuiltLayer[] = [];
  if (options.busyboxBase !== false) layers.push(busyboxLayer(options));
  for (let i = 1; i <= o.layers; i++) layers.push(syntheticLayer(i, o).build());
  return writeImageArchive(outFile, layers, { ...options, name: options.name ?? SYNTHETIC_IMAGE });
}

/**
 * Writes the busybox root file system into the directory `root` (created if needed): what a snapshotter
 * would hold after unpacking {@link buildBusybox}'s image.
 */
export async function writeBusyboxRootfs(root: string, options: BusyboxLayerOptions = {}): Promise<void> {
  await materialize(addBusybox(new LayerBuilder(), options).entries(), root);
}
