import { describe, expect, it } from "vitest";
import { kindOf } from "@containerts/errdefs";
import { NamespaceCreate, TaskCreate, TaskExit } from "@containerts/api/events";
import { decodeAny, encodeAny, EventTypeUrl } from "@containerts/api/typeurl";
import { EventType } from "../index.js";
import {
  createPayloadEncoder,
  envelopeFromWire,
  envelopeToWire,
  payloadFromAny,
  payloadToAny,
  wireEventFields,
} from "./convert.js";

describe("payloadToAny", () => {
  it("encodes message payloads with the bare type URL, Dates as Timestamps", () => {
    const exitedAt = new Date("2026-11-28T11:57:56.397Z");
    const any = payloadToAny({ typeUrl: EventType.TaskExit, message: { containerId: "c1", id: "c1", pid: 42, exitStatus: 137, exitedAt } });
    expect(any.typeUrl).toBe("containerd.events.TaskExit");
    expect(TaskExit.decode(any.value)).toEqual({
      containerId: "c1",
      id: "c1",
      pid: 42,
      exitStatus: 137,
      exitedAt: { seconds: 1795867076n, nanos: 397_000_000 },
    });
  });

  it("fills the fields a partial message leaves out, nested ones included", () => {
    expect(NamespaceCreate.decode(payloadToAny({ typeUrl: EventType.NamespaceCreate, message: { name: "x" } }).value)).toEqual({
      name: "x",
      labels: {},
    });
    const any = payloadToAny({ typeUrl: EventType.TaskCreate, message: { containerId: "c", io: { stdout: "/o" } } });
    expect(TaskCreate.decode(any.value).io).toEqual({ stdin: "", stdout: "/o", stderr: "", terminal: false });
  });

  it("passes encoded payloads through byte for byte, whatever their type URL", () => {
    const value = Uint8Array.from([1, 2, 3, 0xff]);
    const any = payloadToAny({ typeUrl: "example.com/Unknown", value });
    expect(any.typeUrl).toBe("example.com/Unknown");
    expect([...any.value]).toEqual([1, 2, 3, 0xff]);
  });

  it("refuses a message payload of an unregistered type", () => {
    let err: unknown;
    try {
      payloadToAny({ typeUrl: "type.googleapis.com/containerd.events.TaskOOM", message: { containerId: "c" } });
    } catch (e) {
      err = e;
    }
    expect(kindOf(err)).toBe("InvalidArgument");
    expect((err as Error).message).toContain("is not registered");
  });

  it("encodes each payload once per encoder", () => {
    const encode = createPayloadEncoder();
    const p = { typeUrl: EventType.TaskOOM, message: { containerId: "c" } };
    expect(encode(p)).toBe(encode(p));
  });
});

describe("payloadFromAny", () => {
  it("keeps bytes unless asked to decode, and decodes only containerd's events", () => {
    const any = encodeAny(EventTypeUrl.TaskExit, { containerId: "c", id: "e", pid: 1, exitStatus: 2, exitedAt: { seconds: 1795867076n, nanos: 397_000_123 } });
    const raw = payloadFromAny(any);
    expect(raw.value).toBe(any.value);
    const decoded = payloadFromAny(any, true);
    expect(decoded.message).toEqual({ containerId: "c", id: "e", pid: 1, exitStatus: 2, exitedAt: new Date("2026-11-28T11:57:56.397Z") });
    const other = { typeUrl: "containerd.runc.v1.Options", value: Buffer.from([0x08, 0x01]) };
    expect(payloadFromAny(other, true).value).toBe(other.value);
    const garbage = { typeUrl: "containerd.events.TaskOOM", value: Buffer.from([0xff, 0xff, 0xff]) };
    expect(payloadFromAny(garbage, true).value).toBe(garbage.value);
    expect(payloadFromAny(undefined)).toEqual({ typeUrl: "", value: new Uint8Array(0) });
  });
});

describe("envelopes", () => {
  it("round-trip with nanosecond timestamps", () => {
    const env = {
      timestamp: new Date("2026-11-28T11:57:56.397Z"),
      timestampNanos: 546_020,
      namespace: "default",
      topic: "/tasks/oom",
      event: { typeUrl: EventType.TaskOOM, value: Uint8Array.from([0x0a, 0x01, 0x63]) },
    };
    const wire = envelopeToWire(env);
    expect(wire.timestamp).toEqual({ seconds: 1795867076n, nanos: 397_546_020 });
    const back = envelopeFromWire(wire);
    expect(back.timestamp).toEqual(env.timestamp);
    expect(back.timestampNanos).toBe(546_020);
    expect([...(back.event.value ?? [])]).toEqual([0x0a, 0x01, 0x63]);
  });

  it("read a missing timestamp as Go's zero time, and send an empty event as none", () => {
    const env = envelopeFromWire({ timestamp: undefined, namespace: "n", topic: "/t", event: undefined });
    expect(env.timestamp.toISOString()).toBe("0001-01-01T00:00:00.000Z");
    expect(envelopeToWire(env).event).toBeUndefined();
    expect(envelopeFromWire(undefined).namespace).toBe("");
  });
});

describe("wireEventFields", () => {
  it("reads containerd's event fields from encoded and message payloads", () => {
    const create = payloadToAny({
      typeUrl: EventType.ContainerCreate,
      message: { id: "c1", image: "busybox", runtime: { name: "io.containerd.runc.v2" } },
    });
    const encoded = wireEventFields({ typeUrl: create.typeUrl, value: create.value });
    expect(encoded.field(["id"])).toBe("c1");
    expect(encoded.field(["runtime", "name"])).toBe("io.containerd.runc.v2");
    expect(encoded.field(["nope"])).toBeUndefined();
    const labels = wireEventFields({ typeUrl: EventType.NamespaceCreate, message: { name: "n", labels: { "a.b": "v" } } });
    expect(labels.field(["labels", "a", "b"])).toBe("v");
    expect(labels.field(["name"])).toBe("n");
    const exit = wireEventFields({ typeUrl: EventType.TaskExit, message: { containerId: "c", pid: 3 } });
    expect(exit.field(["container_id"])).toBe("c");
    expect(exit.field(["pid"])).toBeUndefined();
    expect(wireEventFields({ typeUrl: "x.Unknown", value: new Uint8Array([1]) }).field(["id"])).toBeUndefined();
    expect(wireEventFields({ typeUrl: EventType.TaskOOM, value: new Uint8Array([0xff, 0xff]) }).field(["container_id"])).toBeUndefined();
    expect(decodeAny(create).typeUrl).toBe("containerd.events.ContainerCreate");
  });
});
