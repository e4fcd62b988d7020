/**
 * The JSON ctr's `containers info` prints: Go's `json.MarshalIndent(x, "", "    ")` of a
 * `containers.Container` (field names, field order, `null` for empty maps and missing Anys, Anys as
 * `{"type_url","value"}` with bytes in base64, times in RFC 3339 with trailing zeros trimmed), with the spec
 * decoded in place of its Any.
 */
import type { Client } from "@containerts/client";
import { NotFoundError } from "@containerts/errdefs";

/** A container as the client returns it. */
export type ContainerRecord = Awaited<ReturnType<Client["containers"]["get"]>>;
type AnyRecord = NonNullable<ContainerRecord["spec"]>;

/** The type URL of the OCI runtime spec Any. */
export const SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

/** Go's encoding of a gogo `types.Any` (both fields `omitempty`). */
function anyJson(a: AnyRecord | undefined): unknown {
  if (a === undefined) return null;
  const out: Record<string, string> = {};
  if (a.typeUrl !== "") out["type_url"] = a.typeUrl;
  if (a.value.length > 0) out["value"] = Buffer.from(a.value).toString("base64");
  return out;
}

/** A Go map: `null` when empty, keys sorted. */
function goMap<V, W>(m: Readonly<Record<string, V>>, fn: (v: V) => W): Record<string, W> | null {
  const keys = Object.keys(m).sort();
  if (keys.length === 0) return null;
  const out: Record<string, W> = {};
  for (const k of keys) out[k] = fn(m[k]!);
  return out;
}

/** Go's `time.Time` JSON: RFC 3339 with nanoseconds, trailing zeros trimmed. */
function goTime(d: Date): string {
  return d.toISOString().replace(/\.?0+Z$/, "Z");
}

/**
 * Decodes the spec Any like typeurl.UnmarshalAny for the one JSON type ctr registers.
 * @throws NotFoundError `type with url <u>` for another type URL; the JSON parse error for bad JSON.
 */
export function decodeSpec(spec: AnyRecord): unknown {
  if (spec.typeUrl !== SPEC_TYPE_URL) throw new NotFoundError(`type with url ${spec.typeUrl}`);
  return JSON.parse(new TextDecoder().decode(spec.value)) as unknown;
}

/** Go's `json.Marshal` escapes these characters inside strings; JSON.stringify does not. */
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Formats `value` as Go's `json.MarshalIndent(value, "", "    ")`. */
export function goIndentJson(value: unknown): string {
  return goEscape(JSON.stringify(value, null, 4));
}

/** What `ctr containers info` prints for `c` (without the final newline). */
export function containerInfoJson(c: ContainerRecord): string {
  const withSpec = c.spec !== undefined && c.spec.value.length > 0;
  const head = {
    ID: c.id,
    Labels: goMap(c.labels, (v) => v),
    Image: c.image,
    Runtime: { Name: c.runtime.name, Options: anyJson(c.runtime.options) },
  };
  const tail = {
    SnapshotKey: c.snapshotKey,
    Snapshotter: c.snapshotter,
    CreatedAt: goTime(c.createdAt),
    UpdatedAt: goTime(c.updatedAt),
    Extensions: goMap(c.extensions, anyJson),
  };
  // With a decoded spec, ctr prints a struct embedding the container and a shadowing Spec field, which
  // Go's encoder places last; otherwise the container's own Spec (an Any) sits after Runtime.
  const out = withSpec ? { ...head, ...tail, Spec: decodeSpec(c.spec!) } : { ...head, Spec: anyJson(c.spec), ...tail };
  return goIndentJson(out);
}
