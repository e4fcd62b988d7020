import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Server, ServerCredentials, credentials, status, type ServiceError } from "@grpc/grpc-js";
import { ContainersClient } from "@containerts/api/services/containers/v1";
import { kindOf } from "@containerts/errdefs";
import type { EventPayload, Publisher } from "@containerts/events";
import { type Context, background, withNamespace } from "@containerts/namespaces";
import { callMetadata, callUnary, type GrpcServicePlugin } from "@containerts/namespaces/grpc";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { MemoryContainerStore } from "../../test/memory-store.js";
import { createContainerService } from "../service.js";
import { specAny } from "../spec.js";
import { containerStoreSuite } from "../testsuite/index.js";
import { ProxyContainerStore } from "../proxy/index.js";
import { createContainersServer } from "./server.js";

interface Loopback {
  readonly address: string;
  readonly proxy: ProxyContainerStore;
  readonly calls: string[];
  close(): Promise<void>;
}

/** Serves `plugin` on a unix socket in a temp dir; records the method path of every call. */
async function serve(plugin: GrpcServicePlugin, patch?: (impl: Record<string, unknown>) => void): Promise<Loopback> {
  const dir = await mkdtemp(join(tmpdir(), "containers-grpc-"));
  const address = `unix://${join(dir, "s.sock")}`;
  const server = new Server();
  const calls: string[] = [];
  plugin.register({
    addService(def, impl) {
      const patched: Record<string, unknown> = { ...impl };
      patch?.(patched);
      const wrapped: Record<string, unknown> = {};
      for (const [name, fn] of Object.entries(patched)) {
        wrapped[name] = (call: { getPath(): string }, cb?: unknown) => {
          calls.push(call.getPath().split("/").pop()!);
          return (fn as (c: unknown, cb?: unknown) => unknown)(call, cb);
        };
      }
      server.addService(def, wrapped as never);
    },
  });
  try {
    await new Promise<void>((res, rej) => server.bindAsync(address, ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const proxy = new ProxyContainerStore({ address, credentials: credentials.createInsecure(), options: {} });
  return {
    address,
    proxy,
    calls,
    async close() {
      proxy.close();
      await new Promise<void>((res) => server.tryShutdown(() => res()));
      server.forceShutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

class RecordingPublisher implements Publisher {
  readonly events: { namespace: string | undefined; topic: string; event: EventPayload }[] = [];
  async publish(ctx: Context, topic: string, event: EventPayload): Promise<void> {
    this.events.push({ namespace: ctx.namespace, topic, event });
  }
}

containerStoreSuite("proxy over gRPC", async () => {
  const lb = await serve(createContainersServer(createContainerService(new MemoryContainerStore(), new RecordingPublisher())));
  return { store: lb.proxy, cleanup: () => lb.close() };
});

describe("containers gRPC service", () => {
  const ctx = withNamespace(background(), "default");
  const spec = specAny({ ociVersion: "1.0.2-dev" });
  let lb: Loopback;
  let events: RecordingPublisher;

  beforeEach(async () => {
    events = new RecordingPublisher();
    lb = await serve(createContainersServer(createContainerService(new MemoryContainerStore(), events)));
  });
  afterEach(async () => {
    await lb.close();
  });

  it("lists through ListStream, one container per message", async () => {
    for (const id of ["a", "b", "c"]) await lb.proxy.create(ctx, { id, runtime: { name: "r" }, spec });
    lb.calls.length = 0;
    expect((await lb.proxy.list(ctx)).map((c) => c.id)).toEqual(["a", "b", "c"]);
    expect(lb.calls).toEqual(["ListStream"]);

    const client = new ContainersClient(lb.address, credentials.createInsecure());
    try {
      const stream = client.listStream({ filters: ["id!=b"] }, callMetadata(ctx));
      const messages: unknown[] = [];
      for await (const m of stream) messages.push(m);
      expect(messages.map((m) => (m as { container?: { id: string } }).container?.id)).toEqual(["a", "c"]);
      const list = await callUnary(client.list.bind(client), { filters: [] }, ctx);
      expect(list.containers.map((c) => c.id)).toEqual(["a", "b", "c"]);
    } finally {
      client.close();
    }
  });

  it("publishes create, update and delete events in the caller's namespace", async () => {
    const options = { typeUrl: "containerd.runc.v1.Options", value: new Uint8Array([8, 1]) };
    await lb.proxy.create(ctx, { id: "e1", image: "img", runtime: { name: "io.containerd.runc.v2", options }, spec, labels: { a: "1" } });
    await lb.proxy.update(ctx, { id: "e1", labels: { b: "2" }, snapshotKey: "k" }, ["labels.b"]);
    await lb.proxy.delete(ctx, "e1");
    expect(kindOf(await lb.proxy.delete(ctx, "e1").catch((e: unknown) => e))).toBe("NotFound");
    expect(events.events.map((e) => [e.namespace, e.topic, e.event.typeUrl])).toEqual([
      ["default", "/containers/create", "containerd.events.ContainerCreate"],
      ["default", "/containers/update", "containerd.events.ContainerUpdate"],
      ["default", "/containers/delete", "containerd.events.ContainerDelete"],
    ]);
    const [create, update, del] = events.events.map((e) => e.event.message);
    expect(create).toMatchObject({ id: "e1", image: "img", runtime: { name: "io.containerd.runc.v2", options: { typeUrl: "containerd.runc.v1.Options" } } });
    expect([...((create as { runtime: { options: { value: Uint8Array } } }).runtime.options.value)]).toEqual([8, 1]);
    expect(update).toEqual({ id: "e1", image: "img", labels: { a: "1", b: "2" }, snapshotKey: "" });
    expect(del).toEqual({ id: "e1" });
  });

  it("answers Update without an id and Create without a container with InvalidArgument", async () => {
    const client = new ContainersClient(lb.address, credentials.createInsecure());
    try {
      const upd = await callUnary(client.update.bind(client), { container: undefined, updateMask: undefined }, ctx).catch((e: Error) => e);
      expect(kindOf(upd)).toBe("InvalidArgument");
      expect((upd as Error).message).toBe("Container.ID required");
      const crt = await callUnary(client.create.bind(client), { container: undefined }, ctx).catch((e: Error) => e);
      expect(kindOf(crt)).toBe("InvalidArgument");
      expect(events.events).toEqual([]);
    } finally {
      client.close();
    }
  });
});

describe("proxy list fallback", () => {
  const ctx = withNamespace(background(), "default");
  let lb: Loopback;

  beforeAll(async () => {
    const plugin = createContainersServer(createContainerService(new MemoryContainerStore(), new RecordingPublisher()));
    lb = await serve(plugin, (impl) => {
      // A server that predates ListStream (as containerd before 1.5).
      impl["listStream"] = ((call: { emit(ev: string, e: Partial<ServiceError>): void }) =>
        call.emit("error", { code: status.UNIMPLEMENTED, details: "unknown method ListStream" })) satisfies (c: never) => void;
    });
  });
  afterAll(async () => {
    await lb.close();
  });

  it("falls back to List when ListStream is unimplemented", async () => {
    await lb.proxy.create(ctx, { id: "x", runtime: { name: "r" }, spec: specAny({}) });
    await lb.proxy.create(ctx, { id: "y", runtime: { name: "r" }, spec: specAny({}), image: "i" });
    lb.calls.length = 0;
    expect((await lb.proxy.list(ctx, ["image==i"])).map((c) => c.id)).toEqual(["y"]);
    expect(lb.calls).toEqual(["ListStream", "List"]);
  });
});
