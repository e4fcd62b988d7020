/**
 * The OCI image documents the image model reads (image-spec `specs-go/v1`: index, manifest, image
 * config), as domain types, and their strict parsers. Docker schema 2 manifests and manifest lists have
 * the same shape and parse the same way.
 *
 * Parsing is where untrusted bytes become values: documents over the size limit, invalid JSON, wrong
 * field types and documents whose shape contradicts their media type are refused with errors that
 * name the blob.
 */
import type { Descriptor, Digest, Platform } from "@containerts/content";
import { FailedPreconditionError, InvalidArgumentError } from "@containerts/errdefs";

import { MediaType, isIndexType, isManifestType } from "./media-types.js";

/** An OCI image index or Docker manifest list. */
export interface ImageIndex {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An OCI image manifest or Docker schema 2 manifest. */
export interface ImageManifest {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The root filesystem of an image config: the layers' uncompressed digests, in order. */
export interface RootFS {
  readonly type: string;
  readonly diffIds: readonly Digest[];
}

/**
 * The parts of an OCI image config (or Docker image config) the image model uses. `raw` keeps the whole
 * parsed JSON for callers that need more (`config.Env`, `history`, …).
 */
export interface ImageConfig {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly osVersion?: string;
  readonly osFeatures?: readonly string[];
  readonly created?: string;
  readonly author?: string;
  /** The execution parameters (`config` in the JSON: `Env`, `Cmd`, `Entrypoint`, `User`, …), as parsed. */
  readonly config?: Readonly<Record<string, unknown>>;
  readonly rootfs: RootFS;
  /** The whole document as parsed. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * The largest manifest or index the image model reads: 4 MiB. A real manifest is a few KiB; this is an
 * upper bound for images with large annotations, as containerd's resolver uses (`MaxManifestSize`).
 */
export const maxManifestSize = 4 << 20;

/** The largest image config the image model reads: 8 MiB (configs carry history, so they may be larger than manifests). */
export const maxConfigSize = 8 << 20;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(where: string, problem: string): never {
  throw new InvalidArgumentError(`${where}: ${problem}`);
}

function optString(o: Json, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") fail(where, `${key} must be a string`);
  return v;
}

function stringMap(v: unknown, where: string, key: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) fail(where, `${key} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== "string") fail(where, `${key}[${JSON.stringify(k)}] must be a string`);
    Object.defineProperty(out, k, { value: val, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function stringArray(v: unknown, where: string, key: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) fail(where, `${key} must be an array of strings`);
  return v as string[];
}

/** Parses an OCI platform object (`os.version`, `os.features` as in the JSON). */
export function parsePlatformJson(v: unknown, where: string): Platform {
  if (!isObject(v)) fail(where, "platform must be an object");
  const os = optString(v, "os", where) ?? "";
  const architecture = optString(v, "architecture", where) ?? "";
  const variant = optString(v, "variant", where);
  const osVersion = optString(v, "os.version", where);
  const osFeatures = stringArray(v["os.features"], where, "os.features");
  return {
    os,
    architecture,
    ...(variant !== undefined && variant !== "" ? { variant } : {}),
    ...(osVersion !== undefined && osVersion !== "" ? { osVersion } : {}),
    ...(osFeatures !== undefined && osFeatures.length > 0 ? { osFeatures } : {}),
  };
}

/**
 * Parses an OCI descriptor object. `digest` must be a string and `size` a non-negative safe integer
 * (missing fields take Go's zero values, as containerd's JSON decoding does).
 * @throws InvalidArgumentError naming `where` for a wrong field type.
 */
export function parseDescriptorJson(v: unknown, where: string): Descriptor {
  if (!isObject(v)) fail(where, "descriptor must be an object");
  const mediaType = optString(v, "mediaType", where) ?? "";
  const digest = optString(v, "digest", where) ?? "";
  const size = v["size"] ?? 0;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) fail(where, `size of ${digest || "descriptor"} must be a non-negative integer`);
  const urls = stringArray(v["urls"], where, "urls");
  const annotations = stringMap(v["annotations"], where, "annotations");
  const platform = v["platform"] === undefined || v["platform"] === null ? undefined : parsePlatformJson(v["platform"], where);
  return {
    mediaType,
    digest,
    size,
    ...(urls !== undefined && urls.length > 0 ? { urls } : {}),
    ...(annotations !== undefined && Object.keys(annotations).length > 0 ? { annotations } : {}),
    ...(platform !== undefined ? { platform } : {}),
  };
}

/** Serializes a descriptor as OCI JSON (`os.version`/`os.features` spelled as the spec does). */
export function descriptorToJson(d: Descriptor): Json {
  const out: Json = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls !== undefined && d.urls.length > 0) out["urls"] = [...d.urls];
  if (d.annotations !== undefined && Object.keys(d.annotations).length > 0) out["annotations"] = { ...d.annotations };
  if (d.platform !== undefined) {
    const p: Json = { architecture: d.platform.architecture, os: d.platform.os };
    if (d.platform.osVersion !== undefined) p["os.version"] = d.platform.osVersion;
    if (d.platform.osFeatures !== undefined) p["os.features"] = [...d.platform.osFeatures];
    if (d.platform.variant !== undefined) p["variant"] = d.platform.variant;
    out["platform"] = p;
  }
  return out;
}

function parseJson(bytes: Uint8Array, where: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    fail(where, `invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isObject(v)) fail(where, "invalid JSON: not an object");
  return v;
}

/**
 * Checks a document's size against a limit before it is parsed.
 * @throws FailedPreconditionError `<where>: <n> bytes exceed the <limit>-byte limit`.
 */
export function checkDocumentSize(size: number, limit: number, where: string): void {
  if (size > limit) throw new FailedPreconditionError(`${where}: ${size} bytes exceed the ${limit}-byte limit`);
}

/**
 * Checks that a document's content agrees with the media type it is read as (containerd's
 * `validateMediaType`): no schema 1 `fsLayers`; a manifest has no `manifests` and does not declare an
 * index media type; an index has no `config`/`layers` and does not declare a manifest media type.
 */
function validateDocumentType(doc: Json, mediaType: string, where: string): void {
  const fsLayers = doc["fsLayers"];
  if (Array.isArray(fsLayers) && fsLayers.length > 0) fail(where, "media-type: schema 1 not supported");
  const declared = doc["mediaType"];
  if (isManifestType(mediaType)) {
    if (doc["manifests"] !== undefined || declared === MediaType.DockerManifestList || declared === MediaType.OciIndex) {
      fail(where, `media-type: expected manifest but found index (${mediaType})`);
    }
  } else if (isIndexType(mediaType)) {
    if (doc["config"] !== undefined || doc["layers"] !== undefined || declared === MediaType.DockerManifest || declared === MediaType.OciManifest) {
      fail(where, `media-type: expected index but found manifest (${mediaType})`);
    }
  }
}

function schemaVersionOf(doc: Json, where: string): number {
  const v = doc["schemaVersion"] ?? 0;
  if (typeof v !== "number" || !Number.isInteger(v)) fail(where, "schemaVersion must be an integer");
  return v;
}

/**
 * Parses a manifest read as `mediaType` (OCI or Docker schema 2).
 * @throws FailedPreconditionError when `bytes` exceed {@link maxManifestSize}.
 * @throws InvalidArgumentError `<where>: invalid JSON: …`, a wrong field type, a missing config, or a
 *   document that is an index.
 */
export function parseManifest(bytes: Uint8Array, mediaType: string, where = "manifest"): ImageManifest {
  checkDocumentSize(bytes.byteLength, maxManifestSize, where);
  const doc = parseJson(bytes, where);
  validateDocumentType(doc, mediaType, where);
  if (doc["config"] === undefined || doc["config"] === null) fail(where, "config is missing");
  const config = parseDescriptorJson(doc["config"], `${where} config`);
  const layersJson = doc["layers"] ?? [];
  if (!Array.isArray(layersJson)) fail(where, "layers must be an array");
  const layers = layersJson.map((l, i) => parseDescriptorJson(l, `${where} layer ${i}`));
  const declared = optString(doc, "mediaType", where);
  const annotations = stringMap(doc["annotations"], where, "annotations");
  return {
    schemaVersion: schemaVersionOf(doc, where),
    ...(declared !== undefined ? { mediaType: declared } : {}),
    config,
    layers,
    ...(annotations !== undefined ? { annotations } : {}),
  };
}

/**
 * Parses an index read as `mediaType` (OCI index or Docker manifest list).
 * @throws FailedPreconditionError when `bytes` exceed {@link maxManifestSize}.
 * @throws InvalidArgumentError `<where>: invalid JSON: …`, a wrong field type, or a document that is a
 *   manifest.
 */
export function parseIndex(bytes: Uint8Array, mediaType: string, where = "index"): ImageIndex {
  checkDocumentSize(bytes.byteLength, maxManifestSize, where);
  const doc = parseJson(bytes, where);
  validateDocumentType(doc, mediaType, where);
  const manifestsJson = doc["manifests"] ?? [];
  if (!Array.isArray(manifestsJson)) fail(where, "manifests must be an array");
  const manifests = manifestsJson.map((m, i) => parseDescriptorJson(m, `${where} manifest ${i}`));
  const declared = optString(doc, "mediaType", where);
  const annotations = stringMap(doc["annotations"], where, "annotations");
  return {
    schemaVersion: schemaVersionOf(doc, where),
    ...(declared !== undefined ? { mediaType: declared } : {}),
    manifests,
    ...(annotations !== undefined ? { annotations } : {}),
  };
}

/**
 * Parses an image config (OCI or Docker). `rootfs.diff_ids` must be an array of strings (absent: empty).
 * @throws FailedPreconditionError when `bytes` exceed {@link maxConfigSize}.
 * @throws InvalidArgumentError `<where>: invalid JSON: …` or a wrong field type.
 */
export function parseImageConfig(bytes: Uint8Array, where = "image config"): ImageConfig {
  checkDocumentSize(bytes.byteLength, maxConfigSize, where);
  const doc = parseJson(bytes, where);
  const rootfsJson = doc["rootfs"] ?? {};
  if (!isObject(rootfsJson)) fail(where, "rootfs must be an object");
  const diffIds = stringArray(rootfsJson["diff_ids"], where, "rootfs.diff_ids") ?? [];
  const variant = optString(doc, "variant", where);
  const osVersion = optString(doc, "os.version", where);
  const osFeatures = stringArray(doc["os.features"], where, "os.features");
  const created = optString(doc, "created", where);
  const author = optString(doc, "author", where);
  const config = doc["config"];
  if (config !== undefined && config !== null && !isObject(config)) fail(where, "config must be an object");
  return {
    architecture: optString(doc, "architecture", where) ?? "",
    os: optString(doc, "os", where) ?? "",
    ...(variant !== undefined && variant !== "" ? { variant } : {}),
    ...(osVersion !== undefined && osVersion !== "" ? { osVersion } : {}),
    ...(osFeatures !== undefined && osFeatures.length > 0 ? { osFeatures } : {}),
    ...(created !== undefined ? { created } : {}),
    ...(author !== undefined ? { author } : {}),
    ...(isObject(config) ? { config } : {}),
    rootfs: { type: optString(rootfsJson, "type", where) ?? "", diffIds },
    raw: doc,
  };
}
