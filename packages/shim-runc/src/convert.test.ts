import { Metrics as MetricsV1 } from "@containerts/api/cgroups/v1";
import { Metrics as MetricsV2 } from "@containerts/api/cgroups/v2";
import { TaskCreate, TaskDelete, TaskExit } from "@containerts/api/events";
import { Options, ProcessDetails } from "@containerts/api/runc/options";
import { Status } from "@containerts/api/types/task";
import { RuncTypeUrl, packAny } from "@containerts/api/typeurl";
import { describe, expect, it } from "vitest";
import { eventToAny, optionsFromProto, processDetails, statsToProto, statusToProto, timestamp } from "./grpc/convert.js";
import { EMPTY_OPTIONS } from "./options.js";

describe("wire conversions", () => {
  it("packs events with bare type URLs", () => {
    const at = new Date("2026-01-02T03:04:05.678Z");
    const exit = eventToAny({ topic: "/tasks/exit", containerId: "c", id: "e", pid: 7, exitStatus: 137, exitedAt: at });
    expect(exit.typeUrl).toBe("containerd.events.TaskExit");
    expect(TaskExit.decode(exit.value)).toEqual({ containerId: "c", id: "e", pid: 7, exitStatus: 137, exitedAt: { seconds: 1767323045n, nanos: 678_000_000 } });
    const create = eventToAny({
      topic: "/tasks/create",
      containerId: "c",
      bundle: "/b",
      rootfs: [{ type: "overlay", source: "overlay", target: "", options: ["lowerdir=/l"] }],
      io: { stdin: "", stdout: "/o", stderr: "/e", terminal: false },
      checkpoint: "",
      pid: 9,
    });
    expect(create.typeUrl).toBe("containerd.events.TaskCreate");
    expect(TaskCreate.decode(create.value)).toMatchObject({ containerId: "c", bundle: "/b", pid: 9, io: { stdout: "/o" }, rootfs: [{ type: "overlay", options: ["lowerdir=/l"] }] });
    const del = eventToAny({ topic: "/tasks/delete", containerId: "c", pid: 9, exitStatus: 0, exitedAt: undefined });
    expect(TaskDelete.decode(del.value).exitedAt).toBeUndefined();
    for (const topic of ["/tasks/paused", "/tasks/resumed", "/tasks/oom"] as const) {
      expect(eventToAny({ topic, containerId: "c" }).typeUrl).toMatch(/^containerd\.events\.Task(Paused|Resumed|OOM)$/);
    }
  });

  it("honours containerd.runc.v1.Options only", () => {
    expect(optionsFromProto(undefined)).toEqual(EMPTY_OPTIONS);
    expect(optionsFromProto({ typeUrl: "", value: Buffer.alloc(0) })).toEqual(EMPTY_OPTIONS);
    expect(optionsFromProto(packAny("something.Else", new Uint8Array([1, 2])))).toEqual(EMPTY_OPTIONS);
    const any = packAny(RuncTypeUrl.Options, Options.encode(Options.fromPartial({ root: "/r", binaryName: "crun", systemdCgroup: true })).finish());
    expect(optionsFromProto(any)).toEqual({ ...EMPTY_OPTIONS, root: "/r", binaryName: "crun", systemdCgroup: true });
    expect(() => optionsFromProto(packAny(RuncTypeUrl.Options, new Uint8Array([0xff, 0xff, 0xff])))).toThrow(/decode containerd.runc.v1.Options/);
  });

  it("packs process details, statuses, timestamps and metrics", () => {
    const d = processDetails("e1");
    expect(d.typeUrl).toBe("containerd.runc.v1.ProcessDetails");
    expect(ProcessDetails.decode(d.value).execId).toBe("e1");
    expect(statusToProto("pausing")).toBe(Status.PAUSING);
    expect(timestamp(undefined)).toBeUndefined();
    const v1 = statsToProto({ version: 1, stats: { hugetlb: [], pids: { current: 2n, limit: 0n }, memory: { cache: 5n, usage: { usage: 10n, limit: 9223372036854771712n, max: 0n, failcnt: 0n } } } });
    expect(v1.typeUrl).toBe("io.containerd.cgroups.v1.Metrics");
    const m1 = MetricsV1.decode(v1.value);
    expect(m1.pids?.current).toBe(2n);
    expect(m1.memory?.cache).toBe(5n);
    expect(m1.memory?.usage?.limit).toBe(9223372036854771712n);
    const v2 = statsToProto({ version: 2, stats: { hugetlb: [], memory: { anon: 3n, usage: 9n } } });
    expect(v2.typeUrl).toBe("io.containerd.cgroups.v2.Metrics");
    expect(MetricsV2.decode(v2.value).memory).toMatchObject({ anon: 3n, usage: 9n });
  });
});

describe("start's stdin", () => {
  it("reads shim_cgroup from the options Any, ignoring other types", async () => {
    const { shimCgroupFromStdin } = await import("./grpc/start-options.js");
    const { Any } = await import("@containerts/api/protobuf");
    expect(shimCgroupFromStdin(new Uint8Array(0))).toBe("");
    const opts = packAny(RuncTypeUrl.Options, Options.encode(Options.fromPartial({ shimCgroup: "/shims" })).finish());
    expect(shimCgroupFromStdin(Any.encode(opts).finish())).toBe("/shims");
    expect(shimCgroupFromStdin(Any.encode(packAny("other.Type", new Uint8Array([1]))).finish())).toBe("");
  });
});
