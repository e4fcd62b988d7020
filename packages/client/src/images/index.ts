/**
 * The client's image operations — pull, fetch, push, import, export, unpack — with temporary leases and
 * registry access, plus the parts of the image model a client program needs (platforms, sizes, checks,
 * chain IDs), so that programs built on `@containerts/client` need nothing else.
 * @module
 */
export { withLease, DEFAULT_LEASE_EXPIRY_MS, type LeaseClient, type WithLeaseOptions } from "../lease.js";
export { expirationLabels } from "@containerts/leases";
export { type ImageServices, DEFAULT_SNAPSHOTTER, labelDefaultSnapshotter, refKey, resolveSnapshotter } from "./services.js";
export { type ProgressEvent, type ProgressFn, type TransferStatus } from "./progress.js";
export { type PlatformSpec, toPlatform, matcherFor, orderedMatcher, anyPlatform } from "./platform.js";
export {
  type FetchOptions,
  type RemoteOptions,
  appendSource,
  createOrUpdateImage,
  distributionSourceKey,
  fetchImage,
  resolveReference,
} from "./fetch.js";
export { type PullOptions, pull } from "./pull.js";
export { type PushOptions, mountCandidate, push } from "./push.js";
export {
  type ImageRef,
  type UnpackManifestOptions,
  type UnpackOptions,
  type UnpackResult,
  imageTarget,
  isUnpacked,
  unpack,
  unpackManifest,
} from "./unpack.js";
export { type ArchiveSource, type ImportOptions, type ImportResult, importArchive } from "./import.js";
export { type ExportImage, type ExportOptions, type ExportResult, exportArchive } from "./export.js";
export {
  annotationImageName,
  annotationRefName,
  defaultImportPrefix,
  familiarizeReference,
  imageNameOf,
  normalizeReference,
  ociReferenceName,
  refTranslator,
} from "./names.js";
export type { ContentInfo, Descriptor, Digest, Image, Platform } from "./types.js";
export {
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type PlatformMatchComparer,
  type PlatformMatcher,
  MediaType,
  chainId,
  chainIds,
  check,
  config,
  defaultPlatform,
  defaultPlatformMatcher,
  defaultPlatformMatcherStrict,
  defaultPlatformString,
  formatPlatform,
  imageConfig,
  imagePlatforms,
  isIndexType,
  isLayerType,
  isManifestType,
  labelUncompressed,
  manifest,
  onlyPlatform,
  onlyPlatformStrict,
  parsePlatform,
  readImageConfig,
  readIndex,
  readManifest,
  resolveManifest,
  rootFS,
  size,
} from "@containerts/images";
export {
  type Credentials,
  type Reference,
  type RegistryOptions,
  type RemoteDescriptor,
  MAX_MANIFEST_SIZE,
  Registry,
  formatReference,
  isLocalhost,
  parseReference,
} from "../remotes/index.js";
