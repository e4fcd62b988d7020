/**
 * JSON the way Go's `encoding/json` writes containerd's documents, so that documents the client
 * generates (the index and manifests of an imported Docker archive, an exported `index.json`) are
 * byte-identical to containerd's and get the same digests: struct fields in declaration order, maps
 * with sorted keys, empty optional fields left out, and `<`, `>`, `&`, U+2028, U+2029 escaped.
 */
import type { Descriptor, Platform } from "@containerts/content";

/** Serializes like Go's `json.Marshal` (objects must already be in Go's field order). */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A map with its keys sorted, as Go marshals `map[string]string`. */
export function sortedMap(m: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
}

/** image-spec's `Platform` in Go's field order. */
export function goPlatform(p: Platform): Record<string, unknown> {
  return {
    architecture: p.architecture,
    os: p.os,
    ...(p.osVersion !== undefined && p.osVersion !== "" ? { "os.version": p.osVersion } : {}),
    ...(p.osFeatures !== undefined && p.osFeatures.length > 0 ? { "os.features": [...p.osFeatures] } : {}),
    ...(p.variant !== undefined && p.variant !== "" ? { variant: p.variant } : {}),
  };
}

/** image-spec's `Descriptor` in Go's field order (empty optional fields left out). */
export function goDescriptor(d: Descriptor): Record<string, unknown> {
  return {
    ...(d.mediaType !== "" ? { mediaType: d.mediaType } : {}),
    digest: d.digest,
    size: d.size,
    ...(d.urls !== undefined && d.urls.length > 0 ? { urls: [...d.urls] } : {}),
    ...(d.annotations !== undefined && Object.keys(d.annotations).length > 0 ? { annotations: sortedMap(d.annotations) } : {}),
    ...(d.platform !== undefined ? { platform: goPlatform(d.platform) } : {}),
  };
}
