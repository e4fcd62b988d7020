/**
 * Conversions between the snapshot domain types and the wire types of
 * `containerd.services.snapshots.v1` (the only place that knows the wire shapes).
 */
import { fromTimestamp, toTimestamp } from "@containerts/api";
import { Kind as KindProto, type Info } from "@containerts/api/services/snapshots/v1";
import type { Mount as MountProto } from "@containerts/api/types";
import type { Kind, Mount, SnapshotInfo, SnapshotInfoUpdate, Usage } from "../snapshotter.js";

/** The API enum value of a kind. */
export function kindToProto(kind: Kind): KindProto {
  return kind === "active" ? KindProto.ACTIVE : kind === "view" ? KindProto.VIEW : KindProto.COMMITTED;
}

/** The kind of an API enum value; like containerd's `toKind`, anything but ACTIVE and VIEW is committed. */
export function kindFromProto(kind: KindProto | number): Kind {
  return kind === KindProto.ACTIVE ? "active" : kind === KindProto.VIEW ? "view" : "committed";
}

const epoch = new Date(0);

function timeFromProto(ts: Info["createdAt"]): Date {
  return ts === undefined ? epoch : fromTimestamp(ts).date;
}

/** The wire form of a snapshot's info. */
export function infoToProto(info: SnapshotInfo): Info {
  return {
    name: info.name,
    parent: info.parent ?? "",
    kind: kindToProto(info.kind),
    createdAt: toTimestamp(info.createdAt),
    updatedAt: toTimestamp(info.updatedAt),
    labels: { ...info.labels },
  };
}

/** The wire form of the argument of an update: fields the caller did not give are left at their zero value. */
export function infoUpdateToProto(info: SnapshotInfoUpdate): Info {
  return {
    name: info.name,
    parent: info.parent ?? "",
    kind: info.kind === undefined ? KindProto.UNKNOWN : kindToProto(info.kind),
    createdAt: info.createdAt === undefined ? undefined : toTimestamp(info.createdAt),
    updatedAt: info.updatedAt === undefined ? undefined : toTimestamp(info.updatedAt),
    labels: { ...(info.labels ?? {}) },
  };
}

/** A snapshot's info from the wire (an empty parent means none; a missing time is the epoch). */
export function infoFromProto(info: Info): SnapshotInfo {
  return {
    kind: kindFromProto(info.kind),
    name: info.name,
    ...(info.parent !== "" ? { parent: info.parent } : {}),
    labels: { ...info.labels },
    createdAt: timeFromProto(info.createdAt),
    updatedAt: timeFromProto(info.updatedAt),
  };
}

/** The wire form of mounts. */
export function mountsToProto(mounts: readonly Mount[]): MountProto[] {
  return mounts.map((m) => ({ type: m.type, source: m.source, target: m.target ?? "", options: [...m.options] }));
}

/** Mounts from the wire (an empty target means none). */
export function mountsFromProto(mounts: readonly MountProto[]): Mount[] {
  return mounts.map((m) => ({
    type: m.type,
    source: m.source,
    ...(m.target !== "" ? { target: m.target } : {}),
    options: [...m.options],
  }));
}

/** The wire form of a usage. */
export function usageToProto(u: Usage): { size: bigint; inodes: bigint } {
  return { size: BigInt(u.size), inodes: BigInt(u.inodes) };
}

/** A usage from the wire. */
export function usageFromProto(u: { size: bigint; inodes: bigint }): Usage {
  return { size: Number(u.size), inodes: Number(u.inodes) };
}
