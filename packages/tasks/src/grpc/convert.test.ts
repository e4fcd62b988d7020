import { describe, expect, it } from "vitest";
import { DeleteResponse } from "@containerts/api/runtime/task/v2";
import { Status } from "@containerts/api/types/task";
import {
  decodeShimDeleteOutput,
  encodeAnyBytes,
  metricFromProto,
  metricToProto,
  processFromProto,
  processToProto,
  statusFromProto,
  statusToProto,
  timeFromProto,
  timeToProto,
} from "./convert.js";
import { Any } from "@containerts/api/protobuf";
import { ZERO_TIME, type ProcessState } from "../task.js";

describe("task conversions", () => {
  it("maps every status both ways and unknown numbers to unknown", () => {
    for (const s of ["unknown", "created", "running", "stopped", "paused", "pausing"] as const) {
      expect(statusFromProto(statusToProto(s))).toBe(s);
    }
    expect(statusToProto("running")).toBe(Status.RUNNING);
    expect(statusFromProto(42)).toBe("unknown");
  });

  it("keeps nanoseconds and reads a missing timestamp as Go's zero time", () => {
    const ts = { seconds: 1_795_878_090n, nanos: 123_456_789 };
    const t = timeFromProto(ts);
    expect(t.date.toISOString()).toBe("2026-11-28T15:01:30.123Z");
    expect(t.nanos).toBe(456_789);
    expect(timeToProto(t.date, t.nanos)).toEqual(ts);
    expect(timeFromProto(undefined)).toEqual({ date: ZERO_TIME, nanos: 0 });
    expect(timeToProto(ZERO_TIME)).toEqual({ seconds: -62135596800n, nanos: 0 });
  });

  it("sends a process with an empty container_id, as containerd does", () => {
    const p: ProcessState = {
      id: "c1",
      pid: 42,
      status: "stopped",
      stdin: "/fifo/in",
      stdout: "/fifo/out",
      stderr: "",
      terminal: false,
      exitStatus: 137,
      exitedAt: new Date("2026-11-28T11:57:56.397Z"),
      exitedAtNanos: 546_020,
    };
    const wire = processToProto(p);
    expect(wire.containerId).toBe("");
    expect(wire.status).toBe(Status.STOPPED);
    expect(wire.exitedAt).toEqual({ seconds: 1_795_867_076n, nanos: 397_546_020 });
    expect(processFromProto(wire)).toEqual(p);
  });

  it("decodes the DeleteResponse a shim's delete command prints", () => {
    const bytes = DeleteResponse.encode({ pid: 77, exitStatus: 137, exitedAt: { seconds: 1_795_867_076n, nanos: 5 } }).finish();
    expect(decodeShimDeleteOutput(bytes)).toEqual({
      pid: 77,
      exitStatus: 137,
      exitedAt: new Date(1_795_867_076_000),
      exitedAtNanos: 5,
    });
    expect(decodeShimDeleteOutput(new Uint8Array())).toMatchObject({ pid: 0, exitStatus: 0, exitedAt: ZERO_TIME });
  });

  it("encodes the start options as a protobuf Any with the bare type URL", () => {
    const bytes = encodeAnyBytes({ typeUrl: "containerd.runc.v1.Options", value: new Uint8Array([0x10, 0x01]) });
    const any = Any.decode(bytes);
    expect(any.typeUrl).toBe("containerd.runc.v1.Options");
    expect([...any.value]).toEqual([0x10, 0x01]);
  });

  it("round-trips a metric", () => {
    const m = { timestamp: new Date("2026-11-28T12:00:00.000Z"), id: "c1", data: { typeUrl: "io.containerd.cgroups.v1.Metrics", value: new Uint8Array([1, 2]) } };
    expect(metricFromProto(metricToProto(m))).toEqual(m);
    expect(metricFromProto(metricToProto({ timestamp: m.timestamp, id: "c2" }))).toEqual({ timestamp: m.timestamp, id: "c2" });
  });
});
