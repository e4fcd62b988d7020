/**
 * The only place in the containers client that knows wire shapes: decoding the Anys the daemon returns
 * (runc process details, cgroups v1/v2 metrics, event messages) into plain values, and writing them as
 * Go's `encoding/json` writes containerd's generated structs (proto field names, `omitempty`, Any as
 * `{type_url, value}`, times in RFC 3339), which is what `ctr` prints.
 */
import type { AnyValue } from "@containerts/containers";
import { InvalidArgumentError } from "@containerts/errdefs";
import { CgroupsTypeUrl, RuncTypeUrl, decodeAny, decodeAnyAs, isMessageTypeUrl } from "@containerts/api/typeurl";
import { type GoJsonValue, goJson, goTimeJson } from "../go-json.js";

/** The type URL of runc runtime options. */
export const RUNC_OPTIONS_TYPE_URL = "containerd.runc.v1.Options";

/**
 * An empty `containerd.runc.v1.Options` Any: what ctr stores as the runtime options of
 * `io.containerd.runc.v2` containers when no runc flag is given.
 */
export function emptyRuncOptions(): AnyValue {
  return { typeUrl: RUNC_OPTIONS_TYPE_URL, value: new Uint8Array(0) };
}

/** What the runc shims report about a process in `ListPids`. */
export interface ProcessDetails {
  /** The exec id of an exec process. */
  readonly execId: string;
}

function wire(a: AnyValue): { typeUrl: string; value: Buffer } {
  return { typeUrl: a.typeUrl, value: Buffer.from(a.value.buffer, a.value.byteOffset, a.value.byteLength) };
}

/** Decodes `containerd.runc.v1.ProcessDetails`; undefined for another type or bytes that do not decode. */
export function decodeProcessDetails(info: AnyValue): ProcessDetails | undefined {
  if (info.typeUrl !== RuncTypeUrl.ProcessDetails) return undefined;
  try {
    return { execId: decodeAnyAs(wire(info), RuncTypeUrl.ProcessDetails).execId };
  } catch {
    return undefined;
  }
}

/**
 * A task's cgroup statistics: the decoded `io.containerd.cgroups.v1.Metrics` or `.v2.Metrics`, with
 * containerd's (snake_case) field names, 64-bit counters as bigint, and absent sections left out.
 */
export interface CgroupMetrics {
  readonly version: 1 | 2;
  readonly stats: { readonly [key: string]: GoJsonValue | undefined };
}

/**
 * Decodes task metrics data.
 * @throws InvalidArgumentError `cannot convert metric data to cgroups.Metrics or windows.Statistics` for
 *   another type (ctr's wording), or when the bytes do not decode.
 */
export function decodeMetrics(data: AnyValue): CgroupMetrics {
  const version = data.typeUrl === CgroupsTypeUrl.MetricsV1 ? 1 : data.typeUrl === CgroupsTypeUrl.MetricsV2 ? 2 : undefined;
  if (version === undefined) throw new InvalidArgumentError("cannot convert metric data to cgroups.Metrics or windows.Statistics", { bare: true });
  const message = decodeAny(wire(data)).message;
  return { version, stats: toGo(message, false) as { [key: string]: GoJsonValue } };
}

/** ctr's `--format json` of metrics: `json.MarshalIndent(metrics, "", "  ")` of the Go struct. */
export function metricsJson(m: CgroupMetrics): string {
  return goJson(omitEmpty(m.stats) ?? {}, "  ");
}

/** A decoded or encoded event payload (the shape `@containerts/events` delivers). */
export type EventPayloadLike =
  | { readonly typeUrl: string; readonly message: Readonly<Record<string, unknown>>; readonly value?: undefined }
  | { readonly typeUrl: string; readonly value: Uint8Array; readonly message?: undefined };

/**
 * The JSON `ctr events` prints for an event: Go's `json.Marshal` of the decoded message. Event times keep
 * their nanoseconds when the payload is still encoded (a decoded payload carries millisecond Dates).
 * @throws InvalidArgumentError when the type URL is unknown or the bytes do not decode (ctr skips those).
 */
export function eventJson(event: EventPayloadLike): string {
  let message: unknown;
  if (event.value !== undefined) {
    if (!isMessageTypeUrl(event.typeUrl)) throw new InvalidArgumentError(`type with url ${event.typeUrl}: not found`, { bare: true });
    message = decodeAny(wire({ typeUrl: event.typeUrl, value: event.value })).message;
  } else {
    message = event.message;
  }
  const tree = toGo(message, true);
  return goJson(tree ?? {});
}

// Members whose values are protobuf maps: their keys are data, not field names (Go sorts them).
const MAP_FIELDS = new Set(["labels", "annotations"]);
// Members Go always writes (non-nullable gogo `stdtime` fields): the zero time when absent.
const ALWAYS_TIME_FIELDS = new Set(["exitedAt"]);
const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isTimestamp(v: object): v is { seconds: bigint; nanos: number } {
  const keys = Object.keys(v);
  return keys.length === 2 && typeof (v as { seconds?: unknown }).seconds === "bigint" && typeof (v as { nanos?: unknown }).nanos === "number";
}

function isAny(v: object): v is { typeUrl: string; value: Uint8Array } {
  const keys = Object.keys(v);
  return keys.length === 2 && typeof (v as { typeUrl?: unknown }).typeUrl === "string" && (v as { value?: unknown }).value instanceof Uint8Array;
}

function isEmpty(v: GoJsonValue | undefined): boolean {
  return v === undefined || v === "" || v === 0 || v === 0n || v === false || (Array.isArray(v) && v.length === 0);
}

/**
 * A ts-proto message as Go's encoding/json sees the generated struct. With `omit`, zero scalars, empty
 * lists and empty maps are left out (`omitempty`); present messages are kept even when empty (a non-nil
 * pointer). Without, everything present is kept.
 */
function toGo(v: unknown, omit: boolean): GoJsonValue | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string" || typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return v;
  if (v instanceof Uint8Array) return v.length === 0 && omit ? undefined : Buffer.from(v).toString("base64");
  if (v instanceof Date) return v.getTime() === -62135596800000 ? GO_ZERO_TIME : v.toISOString().replace(/\.000Z$/, "Z").replace(/(\.\d*?)0+Z$/, "$1Z");
  if (Array.isArray(v)) return v.map((x) => toGo(x, omit) ?? null);
  if (typeof v !== "object") return undefined;
  if (isTimestamp(v)) return goTimeJson(v.seconds, v.nanos);
  if (isAny(v)) {
    const out: Record<string, GoJsonValue> = {};
    if (!omit || v.typeUrl !== "") out["type_url"] = v.typeUrl;
    if (!omit || v.value.length > 0) out["value"] = Buffer.from(v.value).toString("base64");
    return out;
  }
  const out: Record<string, GoJsonValue> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const key = snake(k);
    if (MAP_FIELDS.has(k) && x !== null && typeof x === "object" && !Array.isArray(x)) {
      const entries = Object.keys(x).sort();
      if (entries.length === 0 && omit) continue;
      const m: Record<string, GoJsonValue> = {};
      for (const mk of entries) m[mk] = (x as Record<string, GoJsonValue>)[mk]!;
      out[key] = m;
      continue;
    }
    if (x === undefined && ALWAYS_TIME_FIELDS.has(k)) {
      out[key] = GO_ZERO_TIME;
      continue;
    }
    const g = toGo(x, omit);
    if (omit && isEmpty(g)) continue;
    if (g !== undefined) out[key] = g;
  }
  return out;
}

/** Drops what `omitempty` drops from a tree made by {@link toGo} without omission. */
function omitEmpty(v: GoJsonValue | undefined): GoJsonValue | undefined {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => omitEmpty(x) ?? null);
  const out: Record<string, GoJsonValue> = {};
  for (const [k, x] of Object.entries(v as Record<string, GoJsonValue | undefined>)) {
    const g = omitEmpty(x);
    if (isEmpty(g)) continue;
    out[k] = g as GoJsonValue;
  }
  return out;
}
