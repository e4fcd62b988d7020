/**
 * Conversions between the diff service's domain types and containerd's wire messages. The only place in
 * this package that knows wire shapes (besides the generated code).
 */
import type { Descriptor as ProtoDescriptor } from "@containerts/api/types";
import type { Mount as ProtoMount } from "@containerts/api/types";
import type { Descriptor } from "@containerts/content";
import { InvalidArgumentError } from "@containerts/errdefs";
import type { Mount } from "@containerts/snapshots";
import type { ProcessorPayload } from "../diff.js";

/** The wire form of `google.protobuf.Any` as ts-proto generates it. */
export interface ProtoAny {
  typeUrl: string;
  value: Buffer;
}

/** Domain descriptor → `containerd.types.Descriptor`. */
export function descriptorToProto(d: Descriptor): ProtoDescriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: BigInt(d.size), annotations: { ...d.annotations } };
}

/** `containerd.types.Descriptor` → domain descriptor. */
export function descriptorFromProto(d: ProtoDescriptor): Descriptor {
  const size = Number(d.size);
  if (!Number.isSafeInteger(size)) throw new InvalidArgumentError(`descriptor size ${d.size} is out of range`);
  const annotations = d.annotations ?? {};
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size,
    ...(Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
  };
}

/** Domain mount → `containerd.types.Mount`. */
export function mountToProto(m: Mount): ProtoMount {
  return { type: m.type, source: m.source, target: m.target ?? "", options: [...m.options] };
}

/** `containerd.types.Mount` → domain mount (an empty target is dropped). */
export function mountFromProto(m: ProtoMount): Mount {
  return {
    type: m.type,
    source: m.source,
    ...(m.target === "" ? {} : { target: m.target }),
    options: [...m.options],
  };
}

/** Apply payloads (map of Any) → domain payloads. */
export function payloadsFromProto(p: Readonly<Record<string, ProtoAny>>): Record<string, ProcessorPayload> {
  const out: Record<string, ProcessorPayload> = {};
  for (const [k, v] of Object.entries(p)) out[k] = { typeUrl: v.typeUrl, value: v.value };
  return out;
}

/** Domain payloads → apply payloads (map of Any). */
export function payloadsToProto(p: Readonly<Record<string, ProcessorPayload>>): Record<string, ProtoAny> {
  const out: Record<string, ProtoAny> = {};
  for (const [k, v] of Object.entries(p)) out[k] = { typeUrl: v.typeUrl, value: Buffer.from(v.value) };
  return out;
}
