/**
 * `@containerts/images`: the image record and store contract, the images service layer, and the image
 * model as a library — media types, OCI documents, walking index/manifest trees, platforms and their
 * matching, manifest/config/diff-ID resolution, chain IDs, size, presence checks and gc labels.
 *
 * Nothing here does I/O of its own: the model reads through a content `Provider` it is given (the only
 * exception is the host platform, which on ARM reads the CPU variant from `/proc/cpuinfo`). The gRPC
 * adapter, the proxy and the plugin registrations are behind `./grpc`, `./proxy` and `./plugin`.
 *
 * @packageDocumentation
 */
export {
  applyImageUpdate,
  imageAdaptor,
  normalizeTarget,
  validateImage,
  validateImageName,
  validateTarget,
  type DeleteImageOptions,
  type Image,
  type ImageInput,
  type ImageStore,
  type ImageStoreSource,
} from "./image.js";
export { createImageService, type ImageServiceOptions } from "./service.js";
export {
  MediaType,
  diffCompression,
  isConfigType,
  isDockerType,
  isIndexType,
  isKnownConfig,
  isLayerType,
  isManifestType,
  isNonDistributable,
  type DiffCompression,
} from "./media-types.js";
export {
  descriptorToJson,
  maxConfigSize,
  maxManifestSize,
  parseDescriptorJson,
  parseImageConfig,
  parseIndex,
  parseManifest,
  parsePlatformJson,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type RootFS,
} from "./oci.js";
export { readImageConfig, readIndex, readLimited, readManifest } from "./read.js";
export {
  allPlatforms,
  anyPlatforms,
  cpuVariantFromCpuinfo,
  defaultPlatform,
  defaultPlatformMatcher,
  defaultPlatformMatcherStrict,
  defaultPlatformString,
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  onlyPlatform,
  onlyPlatformStrict,
  orderedPlatforms,
  parsePlatform,
  platformMatcher,
  type HostPlatform,
  type PlatformMatchComparer,
  type PlatformMatcher,
} from "./platforms.js";
export {
  children,
  childrenHandler,
  filterPlatforms,
  handlers,
  isLeafType,
  limitManifests,
  skipChildren,
  sortByPlatform,
  walk,
  type ChildrenHandler,
  type Handler,
  type HandlerResult,
} from "./walk.js";
export {
  check,
  config,
  imageConfig,
  imagePlatforms,
  manifest,
  resolveManifest,
  rootFS,
  size,
  type CheckResult,
  type ResolvedManifest,
} from "./manifest.js";
export { chainId, chainIds } from "./identity.js";
export {
  annotationImageName,
  annotationRefName,
  childGcLabels,
  childGcLabelsFilterLayers,
  childrenGcLabels,
  labelDistributionSourcePrefix,
  labelGcRefContent,
  labelGcRefContentConfig,
  labelGcRefContentLayerPrefix,
  labelGcRefContentManifestPrefix,
  labelGcRefContentPrefix,
  labelGcRefSnapshotPrefix,
  labelUncompressed,
  setChildrenLabels,
  type GcLabelMap,
} from "./labels.js";
