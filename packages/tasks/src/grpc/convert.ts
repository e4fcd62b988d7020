/**
 * Conversions between the domain types and the wire types of `containerd.services.tasks.v1` and of the
 * shim API `containerd.task.v2`: the only file that knows the wire shapes (the gRPC adapter, the Tasks
 * proxy, the shim proxy and the shim `start`/`delete` commands all go through it).
 */
import { fromTimestamp, toTimestamp } from "@containerts/api";
import type { Any, Timestamp } from "@containerts/api/protobuf";
import { Any as AnyCodec } from "@containerts/api/protobuf";
import type { Mount as PbMount } from "@containerts/api/types";
import { DeleteResponse as ShimDeleteResponse } from "@containerts/api/runtime/task/v2";
import { Status, type Process as PbProcess, type ProcessInfo as PbProcessInfo } from "@containerts/api/types/task";
import type { Metric as PbMetric, Descriptor as PbDescriptor } from "@containerts/api/types";
import type { AnyValue, Descriptor, Exit, Metric, Mount, ProcessInfo, ProcessState, TaskStatus } from "../task.js";
import { ZERO_TIME } from "../task.js";

/** An Any as the wire message. */
export function anyToProto(a: AnyValue): Any {
  return { typeUrl: a.typeUrl, value: Buffer.from(a.value.buffer, a.value.byteOffset, a.value.byteLength) };
}

/** An Any from the wire (bytes copied out of the received buffer). */
export function anyFromProto(a: Any): AnyValue {
  return { typeUrl: a.typeUrl, value: new Uint8Array(a.value) };
}

/** An optional Any as the wire message. */
export function optionalAnyToProto(a: AnyValue | undefined): Any | undefined {
  return a === undefined ? undefined : anyToProto(a);
}

/** An optional Any from the wire. */
export function optionalAnyFromProto(a: Any | undefined): AnyValue | undefined {
  return a === undefined ? undefined : anyFromProto(a);
}

/** The protobuf encoding of a `google.protobuf.Any` (what a shim's `start` reads on stdin). */
export function encodeAnyBytes(a: AnyValue): Uint8Array {
  return AnyCodec.encode(anyToProto(a)).finish();
}

/** A mount as the wire message. */
export function mountToProto(m: Mount): PbMount {
  return { type: m.type, source: m.source, target: m.target, options: [...m.options] };
}

/** A mount from the wire. */
export function mountFromProto(m: PbMount): Mount {
  return { type: m.type, source: m.source, target: m.target, options: [...m.options] };
}

/** A time (with nanoseconds within the millisecond) as a protobuf Timestamp. */
export function timeToProto(date: Date, nanos = 0): Timestamp {
  return toTimestamp({ date, nanos });
}

/** A protobuf Timestamp as a time; an absent one is Go's zero time. */
export function timeFromProto(ts: Timestamp | undefined): { date: Date; nanos: number } {
  if (ts === undefined) return { date: ZERO_TIME, nanos: 0 };
  return fromTimestamp(ts);
}

const statusNames: Readonly<Record<number, TaskStatus>> = {
  [Status.UNKNOWN]: "unknown",
  [Status.CREATED]: "created",
  [Status.RUNNING]: "running",
  [Status.STOPPED]: "stopped",
  [Status.PAUSED]: "paused",
  [Status.PAUSING]: "pausing",
};

const statusNumbers: Readonly<Record<TaskStatus, Status>> = {
  unknown: Status.UNKNOWN,
  created: Status.CREATED,
  running: Status.RUNNING,
  stopped: Status.STOPPED,
  paused: Status.PAUSED,
  pausing: Status.PAUSING,
};

/** A wire status as a domain status (unrecognized values are `unknown`). */
export function statusFromProto(s: number): TaskStatus {
  return statusNames[s] ?? "unknown";
}

/** A domain status as the wire enum. */
export function statusToProto(s: TaskStatus): Status {
  return statusNumbers[s];
}

/** An exit from its wire parts. */
export function exitFromProto(pid: number, exitStatus: number, exitedAt: Timestamp | undefined): Exit {
  const t = timeFromProto(exitedAt);
  return { pid, exitStatus, exitedAt: t.date, exitedAtNanos: t.nanos };
}

/**
 * Decodes what a shim's `delete` command prints on stdout: a `containerd.task.v2.DeleteResponse`.
 * @throws Error when the bytes do not decode.
 */
export function decodeShimDeleteOutput(bytes: Uint8Array): Exit {
  const r = ShimDeleteResponse.decode(bytes);
  return exitFromProto(r.pid, r.exitStatus, r.exitedAt);
}

/** A process state as `containerd.v1.types.Process` (container_id left empty, as containerd does). */
export function processToProto(p: ProcessState): PbProcess {
  return {
    containerId: "",
    id: p.id,
    pid: p.pid,
    status: statusToProto(p.status),
    stdin: p.stdin,
    stdout: p.stdout,
    stderr: p.stderr,
    terminal: p.terminal,
    exitStatus: p.exitStatus,
    exitedAt: timeToProto(p.exitedAt, p.exitedAtNanos),
  };
}

/** A `containerd.v1.types.Process` as a process state. */
export function processFromProto(p: PbProcess): ProcessState {
  const t = timeFromProto(p.exitedAt);
  return {
    id: p.id,
    pid: p.pid,
    status: statusFromProto(p.status),
    stdin: p.stdin,
    stdout: p.stdout,
    stderr: p.stderr,
    terminal: p.terminal,
    exitStatus: p.exitStatus,
    exitedAt: t.date,
    exitedAtNanos: t.nanos,
  };
}

/** A process info as the wire message. */
export function processInfoToProto(p: ProcessInfo): PbProcessInfo {
  return { pid: p.pid, info: optionalAnyToProto(p.info) };
}

/** A process info from the wire. */
export function processInfoFromProto(p: PbProcessInfo): ProcessInfo {
  return p.info === undefined ? { pid: p.pid } : { pid: p.pid, info: anyFromProto(p.info) };
}

/** A metric as the wire message. */
export function metricToProto(m: Metric): PbMetric {
  return { timestamp: timeToProto(m.timestamp), id: m.id, data: optionalAnyToProto(m.data) };
}

/** A metric from the wire. */
export function metricFromProto(m: PbMetric): Metric {
  const base = { timestamp: timeFromProto(m.timestamp).date, id: m.id };
  return m.data === undefined ? base : { ...base, data: anyFromProto(m.data) };
}

/** A descriptor from the wire. */
export function descriptorFromProto(d: PbDescriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: Number(d.size), annotations: { ...d.annotations } };
}

/** A descriptor as the wire message. */
export function descriptorToProto(d: Descriptor): PbDescriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: BigInt(d.size), annotations: { ...d.annotations } };
}
