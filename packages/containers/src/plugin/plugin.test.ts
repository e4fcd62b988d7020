import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { EventPayload, Publisher } from "@containerts/events";
import { type Context, background, withNamespace } from "@containerts/namespaces";
import { PluginType, ServiceId, createRegistry, initPlugins, type AnyRegistration } from "@containerts/plugin-registry";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { MemoryContainerStore } from "../../test/memory-store.js";
import type { ContainerStore } from "../container.js";
import { specAny } from "../spec.js";
import { containersPlugins } from "./index.js";

const metadata = (store: ContainerStore): AnyRegistration => ({
  type: PluginType.Metadata,
  id: "bolt",
  init: async () => ({ containerStore: () => store }),
});

describe("containers plugins", () => {
  let dir: string;
  const ctx = withNamespace(background(), "default");
  const spec = specAny({});

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "containers-plugin-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const init = (regs: readonly AnyRegistration[]) =>
    initPlugins(createRegistry(regs), { root: join(dir, "root"), state: join(dir, "state") });

  it("registers the service and the gRPC adapter under containerd's ids", () => {
    expect(containersPlugins.map((r) => `${r.type}.${r.id}`)).toEqual([
      "io.containerd.service.v1.containers-service",
      "io.containerd.grpc.v1.containers",
    ]);
  });

  it("publishes through the event plugin when one is registered", async () => {
    const seen: [string | undefined, string, EventPayload][] = [];
    const exchange: Publisher = {
      publish: async (c: Context, topic: string, event: EventPayload) => void seen.push([c.namespace, topic, event]),
    };
    const set = await init([metadata(new MemoryContainerStore()), { type: PluginType.Event, id: "exchange", init: async () => exchange }, ...containersPlugins]);
    const service = set.get(PluginType.Service, ServiceId.ContainersService);
    expect(service?.status).toBe("ok");
    await (service!.instance as ContainerStore).create(ctx, { id: "c", runtime: { name: "r" }, spec });
    expect(seen.map(([ns, t]) => [ns, t])).toEqual([["default", "/containers/create"]]);
    expect(set.get(PluginType.GRPC, "containers")?.status).toBe("ok");
  });

  it("works without an event plugin", async () => {
    const set = await init([metadata(new MemoryContainerStore()), ...containersPlugins]);
    const service = set.get(PluginType.Service, ServiceId.ContainersService)!.instance as ContainerStore;
    expect((await service.create(ctx, { id: "c", runtime: { name: "r" }, spec })).id).toBe("c");
  });

  it("fails when the metadata plugin has no container store", async () => {
    const set = await init([{ type: PluginType.Metadata, id: "bolt", init: async () => ({}) }, ...containersPlugins]);
    const result = set.get(PluginType.Service, ServiceId.ContainersService);
    expect(result?.status).toBe("error");
    expect(result?.error?.message).toMatch(/containerStore/);
  });
});
