import { isInvalidArgument } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";
import { Metrics as CgroupsV1Metrics } from "./cgroups/v1.js";
import { Metrics as CgroupsV2Metrics } from "./cgroups/v2.js";
import { ContainerCreate, TaskCreate, TaskExit } from "./events.js";
import { Any, Timestamp } from "./protobuf.js";
import { Options } from "./runc/options.js";
import { Container } from "./services/containers/v1.js";
import { Info, ReadContentRequest, WriteAction, WriteContentRequest } from "./services/content/v1.js";
import { Envelope } from "./services/events/v1.js";
import { Descriptor } from "./types.js";
import { Process, Status } from "./types/task.js";
import { fieldpathMessages, messageTypes } from "./gen/registry.js";
import {
  CgroupsTypeUrl,
  EventTypeUrl,
  RuncTypeUrl,
  SpecTypeUrl,
  decodeAny,
  decodeAnyAs,
  encodeAny,
  eventFieldValue,
  fromTimestamp,
  isMessageTypeUrl,
  messageCodec,
  packAny,
  packJson,
  toTimestamp,
  unpackJson,
} from "./typeurl.js";

const big = 2n ** 60n + 7n; // far above 2^53

function roundTrip<T>(codec: { encode(m: T): { finish(): Uint8Array }; decode(b: Uint8Array): T }, m: T): T {
  return codec.decode(codec.encode(m).finish());
}

describe("generated codecs", () => {
  it("round-trip int64 above 2^53, negative int64, timestamps with nanos and maps", () => {
    const info = Info.fromPartial({
      digest: "sha256:" + "a".repeat(64),
      size: big,
      createdAt: { seconds: 1_795_000_000n, nanos: 397_546_020 },
      updatedAt: { seconds: -62_135_596_800n, nanos: 0 },
      labels: { "containerd.io/gc.root": "2026-01-01T00:00:00Z", "a.b": "" },
    });
    const back = roundTrip(Info, info);
    expect(back).toEqual(info);
    expect(back.size).toBe(big);
    expect(back.createdAt?.nanos).toBe(397_546_020);

    const read = ReadContentRequest.fromPartial({ digest: "sha256:x", offset: -1n, size: 2n ** 63n - 1n });
    expect(roundTrip(ReadContentRequest, read)).toEqual(read);
  });

  it("round-trip repeated fields, enums, bytes and an Any inside a message", () => {
    const write = WriteContentRequest.fromPartial({
      action: WriteAction.COMMIT,
      ref: "ingest-1",
      total: big,
      offset: 5n,
      data: Buffer.from([0, 1, 2, 255]),
      labels: { k: "v" },
    });
    expect(roundTrip(WriteContentRequest, write)).toEqual(write);

    const container = Container.fromPartial({
      id: "c1",
      runtime: { name: "io.containerd.runc.v2", options: encodeAny(RuncTypeUrl.Options, Options.fromPartial({ binaryName: "runc", ioUid: 1000 })) },
      spec: packJson(SpecTypeUrl.Spec, { ociVersion: "1.0.2", process: { args: ["sh"] } }),
      snapshotKey: "c1",
      extensions: { ext: packAny("example.com/ext", Buffer.from("x")) },
    });
    const back = roundTrip(Container, container);
    expect(back).toEqual(container);
    expect(decodeAnyAs(back.runtime!.options!, RuncTypeUrl.Options).binaryName).toBe("runc");

    const metrics = CgroupsV1Metrics.fromPartial({
      cpu: { usage: { total: big, perCpu: [1n, big, 0n] } },
      memory: { usage: { usage: 123n, limit: 2n ** 64n - 1n } },
    });
    expect(roundTrip(CgroupsV1Metrics, metrics)).toEqual(metrics);

    const process = Process.fromPartial({ containerId: "c1", pid: 42, status: Status.RUNNING, exitStatus: 137 });
    expect(roundTrip(Process, process)).toEqual(process);
  });

  it("encode containerd's field numbers (Descriptor: annotations is field 5)", () => {
    const bytes = Descriptor.encode(Descriptor.fromPartial({ mediaType: "m", digest: "d", size: 1n, annotations: { k: "v" } })).finish();
    // 0a 01 'm' | 12 01 'd' | 18 01 | 2a 06 (0a 01 'k' 12 01 'v')
    expect(Buffer.from(bytes).toString("hex")).toBe("0a016d1201641801" + "2a06" + "0a016b120176");
  });
});

describe("type URLs", () => {
  it("are bare message names for protobuf payloads", () => {
    const any = encodeAny(EventTypeUrl.TaskExit, TaskExit.fromPartial({ containerId: "c", pid: 1 }));
    expect(any.typeUrl).toBe("containerd.events.TaskExit");
    for (const url of [...Object.values(EventTypeUrl), ...Object.values(RuncTypeUrl), ...Object.values(CgroupsTypeUrl)]) {
      expect(url).not.toContain("/");
      expect(isMessageTypeUrl(url)).toBe(true);
    }
    for (const url of Object.keys(messageTypes)) {
      expect(url).toMatch(/^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+$/);
    }
    expect(EventTypeUrl.ImageCreate).toBe("containerd.services.images.v1.ImageCreate");
    expect(CgroupsTypeUrl.MetricsV1).toBe("io.containerd.cgroups.v1.Metrics");
  });

  it("use containerd's runtime-spec URLs with JSON bytes", () => {
    expect(Object.values(SpecTypeUrl)).toEqual([
      "types.containerd.io/opencontainers/runtime-spec/1/Spec",
      "types.containerd.io/opencontainers/runtime-spec/1/Process",
      "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources",
      "types.containerd.io/opencontainers/runtime-spec/1/WindowsResources",
    ]);
    const any = packJson(SpecTypeUrl.Process, { args: ["ls", "-l"], cwd: "/" });
    expect(Buffer.from(any.value).toString()).toBe('{"args":["ls","-l"],"cwd":"/"}');
    expect(unpackJson(roundTrip(Any, any))).toEqual({ args: ["ls", "-l"], cwd: "/" });
  });

  it("decode every registered type and narrow on typeUrl", () => {
    for (const [url, codec] of Object.entries(messageTypes)) {
      expect(decodeAny({ typeUrl: url, value: Buffer.alloc(0) }).message).toEqual(codec.decode(new Uint8Array()));
    }
    const decoded = decodeAny(encodeAny(CgroupsTypeUrl.MetricsV2, CgroupsV2Metrics.fromPartial({ pids: { current: big } })));
    if (decoded.typeUrl !== CgroupsTypeUrl.MetricsV2) throw new Error("wrong type");
    expect(decoded.message.pids?.current).toBe(big);
    expect(messageCodec(EventTypeUrl.TaskCreate)).toBe(TaskCreate);
  });

  it("reject unknown and prefixed type URLs, wrong types and bad bytes with InvalidArgument", () => {
    const bad = [
      () => decodeAny({ typeUrl: "type.googleapis.com/containerd.events.TaskExit", value: Buffer.alloc(0) }),
      () => decodeAny({ typeUrl: "containerd.events.Nope", value: Buffer.alloc(0) }),
      () => decodeAny({ typeUrl: "toString", value: Buffer.alloc(0) }),
      () => decodeAny({ typeUrl: EventTypeUrl.TaskExit, value: Buffer.from([0x0a, 0x05, 0x61]) }),
      () => decodeAnyAs(encodeAny(EventTypeUrl.TaskStart, { containerId: "c", pid: 1 }), EventTypeUrl.TaskExit),
      () => unpackJson({ typeUrl: EventTypeUrl.TaskExit, value: Buffer.from("{}") }),
      () => unpackJson({ typeUrl: SpecTypeUrl.Spec, value: Buffer.from("{") }),
      () => packJson(SpecTypeUrl.Spec, undefined),
      () => messageCodec("nope"),
    ];
    for (const f of bad) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(isInvalidArgument(err), String(err)).toBe(true);
    }
    expect(() => decodeAny({ typeUrl: "x.Y", value: Buffer.alloc(0) })).toThrow('type with url "x.Y" is not registered: invalid argument');
  });
});

describe("timestamps", () => {
  it("keep nanoseconds through PreciseTime", () => {
    const ts: Timestamp = { seconds: 1_795_000_676n, nanos: 397_546_020 };
    const t = fromTimestamp(ts);
    expect(t.date.toISOString()).toBe("2026-11-18T11:17:56.397Z");
    expect(t.nanos).toBe(546_020);
    expect(toTimestamp(t)).toEqual(ts);
  });

  it("convert Dates, pre-1970 instants and containerd's zero time", () => {
    expect(toTimestamp(new Date("1970-01-01T00:00:01.5Z"))).toEqual({ seconds: 1n, nanos: 500_000_000 });
    const before = toTimestamp({ date: new Date(-1), nanos: 1 }); // 1969-12-31T23:59:59.999000001Z
    expect(before).toEqual({ seconds: -1n, nanos: 999_000_001 });
    expect(fromTimestamp(before)).toEqual({ date: new Date(-1), nanos: 1 });
    const zero = fromTimestamp({ seconds: -62_135_596_800n, nanos: 0 });
    expect(zero.date.toISOString()).toBe("0001-01-01T00:00:00.000Z");
    expect(toTimestamp(zero)).toEqual({ seconds: -62_135_596_800n, nanos: 0 });
  });

  it("reject invalid input with InvalidArgument", () => {
    expect(() => toTimestamp(new Date(Number.NaN))).toThrow(/invalid argument/);
    expect(() => toTimestamp({ date: new Date(0), nanos: 1_000_000 })).toThrow(/invalid argument/);
    expect(() => fromTimestamp({ seconds: 0n, nanos: -1 })).toThrow(/invalid argument/);
    expect(() => fromTimestamp({ seconds: 2n ** 62n, nanos: 0 })).toThrow(/invalid argument/);
  });
});

describe("eventFieldValue", () => {
  const exit = TaskExit.fromPartial({ containerId: "c1", id: "exec-1", pid: 7, exitStatus: 137 });
  it("reads string fields by proto name; empty strings and numbers are absent", () => {
    expect(eventFieldValue(EventTypeUrl.TaskExit, exit, ["container_id"])).toBe("c1");
    expect(eventFieldValue(EventTypeUrl.TaskExit, exit, ["id"])).toBe("exec-1");
    expect(eventFieldValue(EventTypeUrl.TaskExit, exit, ["pid"])).toBeUndefined();
    expect(eventFieldValue(EventTypeUrl.TaskExit, exit, ["exit_status"])).toBeUndefined();
    expect(eventFieldValue(EventTypeUrl.TaskExit, exit, ["exited_at"])).toBeUndefined();
    expect(eventFieldValue(EventTypeUrl.TaskExit, exit, ["containerId"])).toBeUndefined();
    expect(eventFieldValue(EventTypeUrl.TaskExit, exit, [])).toBeUndefined();
    expect(eventFieldValue(EventTypeUrl.TaskExecAdded, { containerId: "c", execId: "" }, ["exec_id"])).toBeUndefined();
    expect(eventFieldValue(EventTypeUrl.TaskExecAdded, { containerId: "c", execId: "e" }, ["exec_id"])).toBe("e");
    expect(eventFieldValue(EventTypeUrl.SnapshotCommit, { key: "k", name: "n" }, ["key"])).toBe("k");
    expect(eventFieldValue(EventTypeUrl.ImageDelete, { name: "docker.io/library/busybox:latest" }, ["name"])).toBe(
      "docker.io/library/busybox:latest",
    );
    expect(eventFieldValue("containerd.runc.v1.Options", Options.fromPartial({ root: "/r" }), ["root"])).toBeUndefined();
  });

  it("follows labels, nested messages, bools and Anys", () => {
    const update = { id: "c", image: "img", labels: { "containerd.io/gc.root": "x", a: "1" }, snapshotKey: "" };
    expect(eventFieldValue(EventTypeUrl.ContainerUpdate, update, ["labels", "containerd", "io/gc", "root"])).toBe("x");
    expect(eventFieldValue(EventTypeUrl.ContainerUpdate, update, ["labels", "a"])).toBe("1");
    expect(eventFieldValue(EventTypeUrl.ContainerUpdate, update, ["labels", "b"])).toBeUndefined();
    expect(eventFieldValue(EventTypeUrl.ContainerUpdate, update, ["image"])).toBe("img");

    const create = ContainerCreate.fromPartial({ id: "c", runtime: { name: "io.containerd.runc.v2" } });
    expect(eventFieldValue(EventTypeUrl.ContainerCreate, create, ["runtime", "name"])).toBe("io.containerd.runc.v2");
    expect(eventFieldValue(EventTypeUrl.ContainerCreate, ContainerCreate.fromPartial({ id: "c" }), ["runtime", "name"])).toBeUndefined();

    const task = TaskCreate.fromPartial({ containerId: "c", io: { stdin: "/fifo/in", terminal: false } });
    expect(eventFieldValue(EventTypeUrl.TaskCreate, task, ["io", "terminal"])).toBe("false");
    expect(eventFieldValue(EventTypeUrl.TaskCreate, task, ["io", "stdin"])).toBe("/fifo/in");
    expect(eventFieldValue(EventTypeUrl.TaskCreate, task, ["rootfs"])).toBeUndefined();

    const envelope = Envelope.fromPartial({
      namespace: "default",
      topic: "/tasks/exit",
      event: encodeAny(EventTypeUrl.TaskExit, exit),
    });
    const envUrl = "containerd.services.events.v1.Envelope";
    expect(eventFieldValue(envUrl, envelope, ["topic"])).toBe("/tasks/exit");
    expect(eventFieldValue(envUrl, envelope, ["event", "container_id"])).toBe("c1");
    expect(eventFieldValue(envUrl, { ...envelope, event: packAny("x.Unknown", Buffer.alloc(0)) }, ["event", "id"])).toBeUndefined();
  });

  it("has field tables whose keys exist on the generated messages", () => {
    for (const [url, table] of Object.entries(fieldpathMessages)) {
      if (!isMessageTypeUrl(url)) throw new Error(`${url} is not registered`);
      const empty = messageCodec(url).decode(new Uint8Array()) as object;
      for (const field of Object.values(table ?? {})) expect(Object.keys(empty)).toContain(field.key);
    }
    for (const url of Object.values(EventTypeUrl)) expect(fieldpathMessages[url]).toBeDefined();
  });
});
