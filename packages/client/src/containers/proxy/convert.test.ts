import { describe, expect, it } from "vitest";
import { encodeAny, EventTypeUrl, CgroupsTypeUrl, RuncTypeUrl } from "@containerts/api/typeurl";
import { ContainerCreate, TaskCreate, TaskExit, TaskDelete } from "@containerts/api/events";
import { Metrics as V1Metrics } from "@containerts/api/cgroups/v1";
import { Metrics as V2Metrics } from "@containerts/api/cgroups/v2";
import { ProcessDetails } from "@containerts/api/runc/options";
import { goTimeString } from "../go-json.js";
import { decodeMetrics, decodeProcessDetails, emptyRuncOptions, eventJson, metricsJson } from "./convert.js";

function bytes(any: { value: Uint8Array }): Uint8Array {
  return new Uint8Array(any.value);
}

describe("eventJson: what ctr events prints", () => {
  it("writes a task exit with nanosecond times, as captured from ctr 1.6", () => {
    const any = encodeAny(
      EventTypeUrl.TaskExit,
      TaskExit.fromPartial({ containerId: "ev1", id: "ev1", pid: 21280, exitStatus: 3, exitedAt: { seconds: 1795878976n, nanos: 27404676 } }),
    );
    expect(eventJson({ typeUrl: any.typeUrl, value: bytes(any) })).toBe(
      '{"container_id":"ev1","id":"ev1","pid":21280,"exit_status":3,"exited_at":"2026-11-28T15:16:16.027404676Z"}',
    );
  });

  it("omits zero fields but always writes exited_at", () => {
    const any = encodeAny(EventTypeUrl.TaskDelete, TaskDelete.fromPartial({ containerId: "c" }));
    expect(eventJson({ typeUrl: any.typeUrl, value: bytes(any) })).toBe('{"container_id":"c","exited_at":"0001-01-01T00:00:00Z"}');
  });

  it("writes nested Anys as {type_url, value} and nested messages and lists", () => {
    const cc = encodeAny(
      EventTypeUrl.ContainerCreate,
      ContainerCreate.fromPartial({ id: "ev1", image: "docker.io/library/busybox:latest", runtime: { name: "io.containerd.runc.v2", options: { typeUrl: "containerd.runc.v1.Options", value: Buffer.alloc(0) } } }),
    );
    expect(eventJson({ typeUrl: cc.typeUrl, value: bytes(cc) })).toBe(
      '{"id":"ev1","image":"docker.io/library/busybox:latest","runtime":{"name":"io.containerd.runc.v2","options":{"type_url":"containerd.runc.v1.Options"}}}',
    );
    const tc = encodeAny(
      EventTypeUrl.TaskCreate,
      TaskCreate.fromPartial({
        containerId: "ev1",
        bundle: "/b",
        rootfs: [{ type: "overlay", source: "overlay", options: ["index=off"] }],
        io: { stdin: "/f/ev1-stdin", stdout: "/f/ev1-stdout", stderr: "/f/ev1-stderr" },
        pid: 7,
      }),
    );
    expect(eventJson({ typeUrl: tc.typeUrl, value: bytes(tc) })).toBe(
      '{"container_id":"ev1","bundle":"/b","rootfs":[{"type":"overlay","source":"overlay","options":["index=off"]}],"io":{"stdin":"/f/ev1-stdin","stdout":"/f/ev1-stdout","stderr":"/f/ev1-stderr"},"pid":7}',
    );
  });

  it("accepts decoded payloads (millisecond Dates) and sorts label maps", () => {
    expect(eventJson({ typeUrl: "containerd.events.TaskExit", message: { containerId: "c", pid: 1, exitStatus: 0, exitedAt: new Date("2026-01-02T03:04:05.120Z") } })).toBe(
      '{"container_id":"c","pid":1,"exited_at":"2026-01-02T03:04:05.12Z"}',
    );
    expect(eventJson({ typeUrl: "containerd.events.NamespaceCreate", message: { name: "n", labels: { b: "2", a: "1" } } })).toBe(
      '{"name":"n","labels":{"a":"1","b":"2"}}',
    );
  });

  it("refuses unknown type URLs", () => {
    expect(() => eventJson({ typeUrl: "x.Unknown", value: new Uint8Array(0) })).toThrow(/x\.Unknown/);
  });
});

describe("metrics and process details", () => {
  it("decodes cgroups v1 metrics and writes ctr's --format json", () => {
    const any = encodeAny(
      CgroupsTypeUrl.MetricsV1,
      V1Metrics.fromPartial({
        pids: { current: 0n, limit: 0n },
        cpu: { usage: { total: 16405533n, perCpu: [9725898n, 6679635n] }, throttling: {} },
        memory: { cache: 16384n, hierarchicalMemoryLimit: 9223372036854771712n, usage: { usage: 184320n, limit: 9223372036854771712n } },
      }),
    );
    const m = decodeMetrics({ typeUrl: any.typeUrl, value: bytes(any) });
    expect(m.version).toBe(1);
    expect((m.stats["memory"] as Record<string, unknown>)["usage"]).toMatchObject({ usage: 184320n, limit: 9223372036854771712n });
    expect(metricsJson(m)).toBe(
      [
        "{",
        '  "pids": {},',
        '  "cpu": {',
        '    "usage": {',
        '      "total": 16405533,',
        '      "per_cpu": [',
        "        9725898,",
        "        6679635",
        "      ]",
        "    },",
        '    "throttling": {}',
        "  },",
        '  "memory": {',
        '    "cache": 16384,',
        '    "hierarchical_memory_limit": 9223372036854771712,',
        '    "usage": {',
        '      "limit": 9223372036854771712,',
        '      "usage": 184320',
        "    }",
        "  }",
        "}",
      ].join("\n"),
    );
    expect(() => decodeMetrics({ typeUrl: "x", value: new Uint8Array(0) })).toThrow("cannot convert metric data to cgroups.Metrics or windows.Statistics");
  });

  it("decodes cgroups v2 metrics with containerd's field names", () => {
    const any = encodeAny(CgroupsTypeUrl.MetricsV2, V2Metrics.fromPartial({ pids: { current: 3n, limit: 100n }, cpu: { usageUsec: 42n, nrPeriods: 0n } }));
    const m = decodeMetrics({ typeUrl: any.typeUrl, value: bytes(any) });
    expect(m.version).toBe(2);
    expect(m.stats["pids"]).toEqual({ current: 3n, limit: 100n });
    expect(m.stats["cpu"]).toMatchObject({ usage_usec: 42n, nr_periods: 0n, throttled_usec: 0n });
    expect(metricsJson(m)).toBe('{\n  "pids": {\n    "current": 3,\n    "limit": 100\n  },\n  "cpu": {\n    "usage_usec": 42\n  }\n}');
  });

  it("decodes runc process details", () => {
    const any = encodeAny(RuncTypeUrl.ProcessDetails, ProcessDetails.fromPartial({ execId: "e2" }));
    expect(decodeProcessDetails({ typeUrl: any.typeUrl, value: bytes(any) })).toEqual({ execId: "e2" });
    expect(decodeProcessDetails({ typeUrl: "other", value: new Uint8Array(0) })).toBeUndefined();
    expect(emptyRuncOptions()).toEqual({ typeUrl: "containerd.runc.v1.Options", value: new Uint8Array(0) });
  });

  it("prints times like Go's time.Time.String in UTC", () => {
    expect(goTimeString(new Date("2026-11-28T15:17:10.607Z"))).toBe("2026-11-28 15:17:10.607 +0000 UTC");
    expect(goTimeString(new Date("2026-11-28T15:16:15.918Z"), 803282)).toBe("2026-11-28 15:16:15.918803282 +0000 UTC");
    expect(goTimeString(new Date("2026-11-28T15:16:15.000Z"))).toBe("2026-11-28 15:16:15 +0000 UTC");
  });
});
