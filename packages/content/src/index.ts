/**
 * `@containerts/content`: the content store's interfaces, domain types, digests and pure helpers.
 * No I/O happens at this entry point; implementations live behind `./local` (and later `./proxy`).
 */
export {
  maxChunkSize,
  type CommitOptions,
  type ContentInfo,
  type ContentStore,
  type ContentStoreSource,
  type ContentWriter,
  type Descriptor,
  type IngestManager,
  type IngestStatus,
  type Ingester,
  type Manager,
  type Platform,
  type Provider,
  type ReadOptions,
  type ReaderAt,
  type WalkFn,
  type WriterOptions,
} from "./content.js";
export {
  canonicalAlgorithm,
  digestAlgorithms,
  digestOf,
  emptyDigest,
  isDigest,
  parseDigest,
  type Digest,
  type DigestAlgorithm,
  type ParsedDigest,
} from "./digest.js";
export {
  copy,
  openWriter,
  readBlob,
  writeBlob,
  type BlobSource,
  type CopyOptions,
  type WriteBlobOptions,
} from "./helpers.js";
export { contentInfoAdaptor, ingestStatusAdaptor } from "./adaptor.js";
