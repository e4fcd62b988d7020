import { background, withNamespace } from "@containerts/namespaces";
import { describe, expect, it } from "vitest";

import { MemoryContainerStore } from "../test/memory-store.js";
import { type ContainerStore, readSpec, specAny } from "./index.js";

// The README example, on the in-memory store (the proxy and the metadata store share the interface).
describe("README example", () => {
  it("creates, updates, lists and deletes", async () => {
    const containers: ContainerStore = new MemoryContainerStore();
    const ctx = withNamespace(background(), "default");
    await containers.create(ctx, {
      id: "web",
      image: "docker.io/library/busybox:latest",
      runtime: { name: "io.containerd.runc.v2" },
      spec: specAny({ ociVersion: "1.0.2-dev", process: { args: ["httpd", "-f"], cwd: "/" }, root: { path: "rootfs" } }),
      snapshotter: "overlayfs",
      snapshotKey: "web",
      labels: { tier: "front" },
    });
    await containers.update(ctx, { id: "web", labels: { tier: "", owner: "me" } }, ["labels.tier", "labels.owner"]);
    const [web] = await containers.list(ctx, ["labels.owner==me,runtime.name~=^io\\.containerd\\."]);
    expect(web?.labels).toEqual({ owner: "me" });
    expect(readSpec<{ process: { args: string[] } }>(web!).process.args).toEqual(["httpd", "-f"]);
    await containers.delete(ctx, "web");
    expect(await containers.list(ctx)).toEqual([]);
  });
});
