/**
 * Conversions between the lease domain types and the wire types of
 * `containerd.services.leases.v1.Leases` (used by the gRPC adapter and the proxy).
 */
import type { Lease as LeaseProto, Resource } from "@containerts/api/services/leases/v1";
import { fromTimestamp, toTimestamp } from "@containerts/api/typeurl";

import type { Lease, LeaseResource } from "../index.js";

/** Go's zero `time.Time`: what an absent `created_at` means to a Go peer. */
const zeroTime = -62135596800000;

/** A lease on the wire. */
export function leaseToProto(l: Lease): LeaseProto {
  return { id: l.id, createdAt: toTimestamp(l.createdAt), labels: { ...l.labels } };
}

/** A lease from the wire. */
export function leaseFromProto(l: LeaseProto): Lease {
  return {
    id: l.id,
    createdAt: l.createdAt === undefined ? new Date(zeroTime) : fromTimestamp(l.createdAt).date,
    labels: { ...l.labels },
  };
}

/** A resource on the wire. */
export function resourceToProto(r: LeaseResource): Resource {
  return { id: r.id, type: r.type };
}

/** A resource from the wire; an absent one is the empty resource (rejected by the manager). */
export function resourceFromProto(r: Resource | undefined): LeaseResource {
  return { id: r?.id ?? "", type: r?.type ?? "" };
}
