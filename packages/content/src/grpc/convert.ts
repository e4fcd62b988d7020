/**
 * Conversions between the content domain types and the wire types of
 * `containerd.services.content.v1.Content`: the only place that knows the wire shapes (used by the gRPC
 * adapter and the proxy). Sizes and offsets are `bigint` on the wire and `number` in the domain; times
 * are `Timestamp` on the wire and `Date` in the domain.
 */
import type { Info, Status } from "@containerts/api/services/content/v1";
import type { Timestamp } from "@containerts/api/protobuf";
import { fromTimestamp, toTimestamp } from "@containerts/api/typeurl";
import { InvalidArgumentError } from "@containerts/errdefs";

import type { ContentInfo, IngestStatus } from "../content.js";

/** Go's zero `time.Time` (0001-01-01T00:00:00Z): what an absent timestamp means to a Go peer. */
export const zeroTime = -62135596800000;

/** A wire timestamp as a `Date`; an absent one is Go's zero time. */
export function dateFromProto(ts: Timestamp | undefined): Date {
  return ts === undefined ? new Date(zeroTime) : fromTimestamp(ts).date;
}

/** A `Date` as a wire timestamp. */
export function dateToProto(d: Date): Timestamp {
  return toTimestamp(d);
}

/**
 * A wire int64 (size, offset) as a JS number.
 * @throws InvalidArgumentError when it does not fit in a safe integer.
 */
export function numberFromProto(v: bigint, field: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new InvalidArgumentError(`${field} ${v} out of range`);
  }
  return Number(v);
}

/** A blob's metadata on the wire. */
export function infoToProto(info: ContentInfo): Info {
  return {
    digest: info.digest,
    size: BigInt(info.size),
    createdAt: dateToProto(info.createdAt),
    updatedAt: dateToProto(info.updatedAt),
    labels: { ...info.labels },
  };
}

/** A blob's metadata from the wire. */
export function infoFromProto(info: Info): ContentInfo {
  return {
    digest: info.digest,
    size: numberFromProto(info.size, "size"),
    createdAt: dateFromProto(info.createdAt),
    updatedAt: dateFromProto(info.updatedAt),
    labels: { ...info.labels },
  };
}

/**
 * The fields of an `UpdateRequest.info` an update may use: the digest and labels (the size and times
 * travel too, so that a field path naming them reaches the store and is rejected there).
 */
export function updateInfoFromProto(info: Info | undefined): Pick<ContentInfo, "digest"> & Partial<ContentInfo> {
  if (info === undefined) return { digest: "", labels: {} };
  return {
    digest: info.digest,
    size: numberFromProto(info.size, "size"),
    labels: { ...info.labels },
    ...(info.createdAt === undefined ? {} : { createdAt: dateFromProto(info.createdAt) }),
    ...(info.updatedAt === undefined ? {} : { updatedAt: dateFromProto(info.updatedAt) }),
  };
}

/** The partial info a proxy sends with an update. */
export function updateInfoToProto(info: Pick<ContentInfo, "digest"> & Partial<ContentInfo>): Info {
  return {
    digest: info.digest,
    size: BigInt(info.size ?? 0),
    createdAt: info.createdAt === undefined ? undefined : dateToProto(info.createdAt),
    updatedAt: info.updatedAt === undefined ? undefined : dateToProto(info.updatedAt),
    labels: { ...(info.labels ?? {}) },
  };
}

/** An ingest's status on the wire. */
export function statusToProto(st: IngestStatus): Status {
  return {
    startedAt: dateToProto(st.startedAt),
    updatedAt: dateToProto(st.updatedAt),
    ref: st.ref,
    offset: BigInt(st.offset),
    total: BigInt(st.total),
    expected: st.expected ?? "",
  };
}

/** An ingest's status from the wire. */
export function statusFromProto(st: Status): IngestStatus {
  return {
    ref: st.ref,
    offset: numberFromProto(st.offset, "offset"),
    total: numberFromProto(st.total, "total"),
    ...(st.expected === "" ? {} : { expected: st.expected }),
    startedAt: dateFromProto(st.startedAt),
    updatedAt: dateFromProto(st.updatedAt),
  };
}
