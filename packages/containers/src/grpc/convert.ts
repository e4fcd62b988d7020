/**
 * Conversions between the domain types and the wire types of `containerd.services.containers.v1`: the only
 * file (with the event payloads of `../service.ts`, which are plain objects) that knows the wire shapes.
 */
import type { Container as PbContainer } from "@containerts/api/services/containers/v1";
import { fromTimestamp, packAny, toTimestamp } from "@containerts/api";
import type { AnyValue, Container, ContainerInput } from "../container.js";

/** The wire form of an Any (ts-proto's `google.protobuf.Any`, bytes as a Buffer). */
type PbAny = ReturnType<typeof packAny>;

/** Go's zero `time.Time` (0001-01-01T00:00:00Z): what a record without a timestamp reads as. */
const ZERO_TIME = -62135596800000;

function anyToProto(a: AnyValue): PbAny {
  return packAny(a.typeUrl, a.value);
}

/** Copies the bytes out of the received message into a plain Uint8Array. */
function anyFromProto(a: PbAny): AnyValue {
  return { typeUrl: a.typeUrl, value: new Uint8Array(a.value) };
}

function mapAnys<A, B>(m: Readonly<Record<string, A>>, fn: (a: A) => B): Record<string, B> {
  const out: Record<string, B> = {};
  for (const [k, v] of Object.entries(m)) {
    Object.defineProperty(out, k, { value: fn(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A stored container as the wire message (every field set, times included). */
export function containerToProto(c: Container): PbContainer {
  return {
    id: c.id,
    labels: { ...c.labels },
    image: c.image,
    runtime: { name: c.runtime.name, options: c.runtime.options === undefined ? undefined : anyToProto(c.runtime.options) },
    spec: c.spec === undefined ? undefined : anyToProto(c.spec),
    snapshotter: c.snapshotter,
    snapshotKey: c.snapshotKey,
    createdAt: toTimestamp(c.createdAt),
    updatedAt: toTimestamp(c.updatedAt),
    extensions: mapAnys(c.extensions, anyToProto),
  };
}

/** A create/update input as the wire message (times left out: the server sets them). */
export function containerInputToProto(c: ContainerInput): PbContainer {
  return {
    id: c.id,
    labels: { ...(c.labels ?? {}) },
    image: c.image ?? "",
    runtime:
      c.runtime === undefined
        ? undefined
        : { name: c.runtime.name, options: c.runtime.options === undefined ? undefined : anyToProto(c.runtime.options) },
    spec: c.spec === undefined ? undefined : anyToProto(c.spec),
    snapshotter: c.snapshotter ?? "",
    snapshotKey: c.snapshotKey ?? "",
    createdAt: undefined,
    updatedAt: undefined,
    extensions: mapAnys(c.extensions ?? {}, anyToProto),
  };
}

/**
 * A wire container as a domain {@link Container}: absent fields read as their zero values, an absent time
 * as Go's zero time, and an extension entry without a value as an empty Any (as Go decodes it).
 */
export function containerFromProto(pb: PbContainer | undefined): Container {
  const runtime = pb?.runtime;
  const spec = pb?.spec;
  return {
    id: pb?.id ?? "",
    labels: { ...(pb?.labels ?? {}) },
    image: pb?.image ?? "",
    runtime: runtime?.options === undefined ? { name: runtime?.name ?? "" } : { name: runtime.name, options: anyFromProto(runtime.options) },
    ...(spec === undefined ? {} : { spec: anyFromProto(spec) }),
    snapshotter: pb?.snapshotter ?? "",
    snapshotKey: pb?.snapshotKey ?? "",
    createdAt: pb?.createdAt === undefined ? new Date(ZERO_TIME) : fromTimestamp(pb.createdAt).date,
    updatedAt: pb?.updatedAt === undefined ? new Date(ZERO_TIME) : fromTimestamp(pb.updatedAt).date,
    extensions: mapAnys(pb?.extensions ?? {}, (a: PbAny | undefined) => (a === undefined ? { typeUrl: "", value: new Uint8Array() } : anyFromProto(a))),
  };
}

/**
 * A create/update request's container as a {@link ContainerInput}: like {@link containerFromProto}
 * without the times, and with the spec and runtime left out when the message lacks them, so that the
 * store's validation reports them.
 */
export function containerInputFromProto(pb: PbContainer | undefined): ContainerInput {
  const { createdAt: _c, updatedAt: _u, ...rest } = containerFromProto(pb);
  return rest;
}
