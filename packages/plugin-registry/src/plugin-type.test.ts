import { describe, expect, it } from "vitest";
import { PluginType, ServiceId } from "./plugin-type.js";

describe("PluginType", () => {
  it("copies containerd's plugin type strings", () => {
    expect(PluginType).toEqual({
      Content: "io.containerd.content.v1",
      Snapshot: "io.containerd.snapshotter.v1",
      Metadata: "io.containerd.metadata.v1",
      Differ: "io.containerd.differ.v1",
      Event: "io.containerd.event.v1",
      GC: "io.containerd.gc.v1",
      Service: "io.containerd.service.v1",
      GRPC: "io.containerd.grpc.v1",
      TTRPC: "io.containerd.ttrpc.v1",
      RuntimeV2: "io.containerd.runtime.v2",
      Runtime: "io.containerd.runtime.v1",
      Monitor: "io.containerd.monitor.v1",
      Internal: "io.containerd.internal.v1",
      Lease: "io.containerd.lease.v1",
      TracingProcessor: "io.containerd.tracing.processor.v1",
    });
  });
});

describe("ServiceId", () => {
  it("copies containerd's service plugin ids, with short aliases of the same values", () => {
    const names = ["Content", "Images", "Containers", "Snapshots", "Diff", "Tasks", "Leases", "Namespaces", "Introspection"];
    for (const n of names) {
      const long = ServiceId[`${n}Service` as keyof typeof ServiceId];
      expect(long).toBe(`${n.toLowerCase()}-service`);
      expect(ServiceId[n as keyof typeof ServiceId]).toBe(long);
    }
    expect(Object.keys(ServiceId)).toHaveLength(18);
  });
});
