/**
 * The Images service over a loopback gRPC server, composed from the plugin registrations: the store
 * conformance suite through `ProxyImageStore`, the wire details clients depend on, and event publishing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata, Server, ServerCredentials, credentials, status, type ServiceError } from "@grpc/grpc-js";

import { ImagesClient, type CreateImageResponse, type GetImageResponse, type UpdateImageResponse } from "@containerts/api/services/images/v1";
import type { EventPayload, Publisher } from "@containerts/events";
import { type Context, background, withNamespace } from "@containerts/namespaces";
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import { PluginType, createRegistry, initPlugins, type AnyRegistration, type PluginSet } from "@containerts/plugin-registry";

import { MediaType, type ImageStoreSource } from "../index.js";
import { imagesPlugins } from "../plugin/index.js";
import { ProxyImageStore, type ProxyTarget } from "../proxy/index.js";
import { MemoryImageStore, imageStoreSuite } from "../testsuite/index.js";

interface Recorded {
  namespace: string | undefined;
  topic: string;
  event: EventPayload;
}

interface Loopback {
  dir: string;
  server: Server;
  plugins: PluginSet;
  target: ProxyTarget;
  events: Recorded[];
  close(): Promise<void>;
}

async function startLoopback(extra: readonly AnyRegistration[], withEvents: boolean): Promise<Loopback> {
  const dir = await mkdtemp(join(tmpdir(), "images-grpc-"));
  const events: Recorded[] = [];
  const store = new MemoryImageStore();
  const metadata: AnyRegistration = {
    type: PluginType.Metadata,
    id: "bolt",
    init: async () => ({ imageStore: () => store }) satisfies ImageStoreSource,
  };
  const exchange: AnyRegistration = {
    type: PluginType.Event,
    id: "exchange",
    init: async () => ({ publish: async (ctx: Context, topic: string, event: EventPayload) => void events.push({ namespace: ctx.namespace, topic, event }) }) satisfies Publisher,
  };
  const plugins = await initPlugins(createRegistry([...(withEvents ? [exchange] : []), metadata, ...extra, ...imagesPlugins]), {
    root: join(dir, "root"),
    state: join(dir, "state"),
  });
  const server = new Server();
  for (const [, p] of plugins.ofType(PluginType.GRPC).entries()) {
    if (p.status === "ok") (p.instance as GrpcServicePlugin).register(server);
  }
  const sock = join(dir, "s.sock");
  await new Promise<void>((res, rej) => server.bindAsync(`unix://${sock}`, ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  return {
    dir,
    server,
    plugins,
    events,
    target: { address: `unix://${sock}`, credentials: credentials.createInsecure(), options: {} },
    async close() {
      await new Promise<void>((res) => server.tryShutdown(() => res()));
      await plugins.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function call<Res>(fn: (md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => void, namespace?: string): Promise<Res> {
  const md = new Metadata();
  if (namespace !== undefined) md.set("containerd-namespace", namespace);
  return new Promise((resolve, reject) => fn(md, (e, r) => (e ? reject(e) : resolve(r))));
}

const digest = `sha256:${"a".repeat(64)}`;
const target = { mediaType: MediaType.OciIndex, digest, size: 123n, annotations: {} };

describe("Images over gRPC", () => {
  let lb: Loopback;
  let proxy: ProxyImageStore;
  let seq = 0;
  beforeAll(async () => {
    lb = await startLoopback([], true);
    proxy = new ProxyImageStore(lb.target);
  });
  afterAll(async () => {
    proxy?.close();
    await lb?.close();
  });

  // Every case gets a namespace of its own on the shared server, so each starts empty.
  imageStoreSuite("proxy over loopback gRPC", async () => ({
    store: proxy,
    ctx: withNamespace(background(), `suite${++seq}`),
    cleanup: async () => undefined,
  }));

  it("registers images-service and the images gRPC plugin", () => {
    const ids = lb.plugins.results.map((r) => `${r.type}.${r.id}:${r.status}`);
    expect(ids).toContain("io.containerd.service.v1.images-service:ok");
    expect(ids).toContain("io.containerd.grpc.v1.images:ok");
  });

  it("answers like containerd on the wire", async () => {
    const c = new ImagesClient(lb.target.address, credentials.createInsecure());
    try {
      const created = await call<CreateImageResponse>((md, cb) => c.create({ image: { name: "wire", labels: { a: "b" }, target, createdAt: undefined, updatedAt: undefined } }, md, cb), "wire");
      expect(created.image?.name).toBe("wire");
      expect(created.image?.createdAt?.seconds).toBeGreaterThan(0n);
      const got = await call<GetImageResponse>((md, cb) => c.get({ name: "wire" }, md, cb), "wire");
      expect(got.image?.target).toMatchObject({ size: 123n, digest });

      const noName = await call((md, cb) => c.create({ image: { name: "", labels: {}, target, createdAt: undefined, updatedAt: undefined } }, md, cb), "wire").catch((e: ServiceError) => e);
      expect(noName).toMatchObject({ code: status.INVALID_ARGUMENT, details: "Image.Name required" });
      const noImage = await call((md, cb) => c.update({ image: undefined, updateMask: ["labels"] }, md, cb), "wire").catch((e: ServiceError) => e);
      expect(noImage).toMatchObject({ code: status.INVALID_ARGUMENT, details: "Image.Name required" });
      const noTarget = await call((md, cb) => c.create({ image: { name: "t", labels: {}, target: undefined, createdAt: undefined, updatedAt: undefined } }, md, cb), "wire").catch((e: ServiceError) => e);
      expect(noTarget).toMatchObject({ code: status.INVALID_ARGUMENT });
      expect((noTarget as ServiceError).details).toMatch(/^Target\.Digest "" invalid/);
      const dup = await call((md, cb) => c.create({ image: { name: "wire", labels: {}, target, createdAt: undefined, updatedAt: undefined } }, md, cb), "wire").catch((e: ServiceError) => e);
      expect(dup).toMatchObject({ code: status.ALREADY_EXISTS, details: 'image "wire": already exists' });
      const missing = await call((md, cb) => c.get({ name: "missing" }, md, cb), "wire").catch((e: ServiceError) => e);
      expect(missing).toMatchObject({ code: status.NOT_FOUND, details: 'image "missing": not found' });
      const noUpdate = await call((md, cb) => c.update({ image: { name: "missing", labels: {}, target, createdAt: undefined, updatedAt: undefined }, updateMask: undefined }, md, cb), "wire").catch((e: ServiceError) => e);
      expect(noUpdate).toMatchObject({ code: status.NOT_FOUND });
      const noDelete = await call((md, cb) => c.delete({ name: "missing", sync: false }, md, cb), "wire").catch((e: ServiceError) => e);
      expect(noDelete).toMatchObject({ code: status.NOT_FOUND });
      const noNs = await call((md, cb) => c.list({ filters: [] }, md, cb)).catch((e: ServiceError) => e);
      expect(noNs).toMatchObject({ code: status.FAILED_PRECONDITION });
      const badFilter = await call((md, cb) => c.list({ filters: ["name=="] }, md, cb), "wire").catch((e: ServiceError) => e);
      expect(badFilter).toMatchObject({ code: status.INVALID_ARGUMENT });
      const badPath = await call((md, cb) => c.update({ image: { name: "wire", labels: {}, target: undefined, createdAt: undefined, updatedAt: undefined }, updateMask: ["created_at"] }, md, cb), "wire").catch((e: ServiceError) => e);
      expect(badPath).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'cannot update "created_at" field on image "wire": invalid argument' });
      // An empty mask is no mask: labels and target are replaced.
      const replaced = await call<UpdateImageResponse>((md, cb) => c.update({ image: { name: "wire", labels: { z: "1" }, target, createdAt: undefined, updatedAt: undefined }, updateMask: [] }, md, cb), "wire");
      expect(replaced.image?.labels).toEqual({ z: "1" });
      await call((md, cb) => c.delete({ name: "wire", sync: true }, md, cb), "wire");
    } finally {
      c.close();
    }
  });

  it("publishes image events in the caller's namespace", async () => {
    lb.events.length = 0;
    const ctx = withNamespace(background(), "events");
    const t = { mediaType: MediaType.OciManifest, digest, size: 5 };
    await proxy.create(ctx, { name: "e", labels: { x: "1" }, target: t });
    await proxy.update(ctx, { name: "e", labels: { x: "2" } }, ["labels.x"]);
    await proxy.delete(ctx, "e");
    await expect(proxy.delete(ctx, "e")).rejects.toThrow(/not found/);
    expect(lb.events).toEqual([
      { namespace: "events", topic: "/images/create", event: { typeUrl: "containerd.services.images.v1.ImageCreate", message: { name: "e", labels: { x: "1" } } } },
      { namespace: "events", topic: "/images/update", event: { typeUrl: "containerd.services.images.v1.ImageUpdate", message: { name: "e", labels: { x: "2" } } } },
      { namespace: "events", topic: "/images/delete", event: { typeUrl: "containerd.services.images.v1.ImageDelete", message: { name: "e" } } },
    ]);
  });
});

describe("images plugins", () => {
  it("work without an event exchange", async () => {
    const lb = await startLoopback([], false);
    const proxy = new ProxyImageStore(lb.target);
    try {
      const ctx = withNamespace(background(), "quiet");
      await proxy.create(ctx, { name: "q", target: { mediaType: MediaType.OciIndex, digest, size: 1 } });
      expect((await proxy.list(ctx)).map((i) => i.name)).toEqual(["q"]);
    } finally {
      proxy.close();
      await lb.close();
    }
  });

  it("fail to initialize when the metadata plugin has no image store, naming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "images-plugin-"));
    try {
      const metadata: AnyRegistration = { type: PluginType.Metadata, id: "bolt", init: async () => ({}) };
      const plugins = await initPlugins(createRegistry([metadata, ...imagesPlugins]), { root: join(dir, "root"), state: join(dir, "state") });
      const svc = plugins.results.find((r) => r.id === "images-service");
      expect(svc?.status).toBe("error");
      expect(svc?.error?.message).toMatch(/metadata plugin: missing method imageStore/);
      expect(plugins.results.find((r) => r.id === "images")?.status).toBe("error");
      await plugins.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
