import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata, Server, ServerCredentials, credentials, status, type ServiceError } from "@grpc/grpc-js";
import { MemoryLevel } from "memory-level";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kindOf } from "@containerts/errdefs";
import { background, withNamespace, type Context } from "@containerts/namespaces";
import { SnapshotsClient, type ListSnapshotsResponse } from "@containerts/api/services/snapshots/v1";
import { withSnapshotEvents, type SnapshotEvent } from "../events.js";
import { createSnapshotsServer } from "../grpc/server.js";
import { NativeSnapshotter } from "../native/native.js";
import { OverlaySnapshotter } from "../overlay/overlay.js";
import type { Snapshotter } from "../snapshotter.js";
import { snapshotterSuite } from "../testsuite/index.js";
import { ProxySnapshotter } from "./index.js";

// One in-memory database per location, so that reopening a root sees what was written before.
const databases = new Map<string, MemoryLevel>();
const openDatabase = (location: string): MemoryLevel => {
  let db = databases.get(location);
  if (db === undefined) {
    db = new MemoryLevel();
    databases.set(location, db);
  }
  return db;
};

/** Serves `snapshotters` on a unix socket and returns the server. */
async function serve(socket: string, snapshotters: ReadonlyMap<string, Snapshotter>): Promise<Server> {
  const server = new Server();
  createSnapshotsServer(snapshotters).register(server);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return server;
}

const target = (socket: string) => ({ address: `unix://${socket}`, credentials: credentials.createInsecure(), options: {} });

/**
 * A proxy to a loopback server in front of `backend` (named `name`); closing it closes the proxy, the
 * server and the backend.
 */
async function loopback(root: string, name: string, backend: Snapshotter): Promise<Snapshotter> {
  const socket = join(root, "grpc.sock");
  const server = await serve(socket, new Map([[name, backend]]));
  const proxy = new ProxySnapshotter(target(socket), name);
  let closed = false;
  return {
    stat: (ctx, key) => proxy.stat(ctx, key),
    update: (ctx, info, paths) => proxy.update(ctx, info, paths),
    usage: (ctx, key) => proxy.usage(ctx, key),
    mounts: (ctx, key) => proxy.mounts(ctx, key),
    prepare: (ctx, key, parent, o) => proxy.prepare(ctx, key, parent, o),
    view: (ctx, key, parent, o) => proxy.view(ctx, key, parent, o),
    commit: (ctx, n, key, o) => proxy.commit(ctx, n, key, o),
    remove: (ctx, key) => proxy.remove(ctx, key),
    walk: (ctx, fn, filters) => proxy.walk(ctx, fn, filters),
    cleanup: (ctx) => proxy.cleanup(ctx),
    close: async () => {
      if (closed) return;
      closed = true;
      await proxy.close();
      server.forceShutdown();
      await backend.close();
    },
  };
}

snapshotterSuite("proxy over overlayfs", async (root) =>
  loopback(root, "overlayfs", await OverlaySnapshotter.open({ root: join(root, "backend"), openDatabase })),
  { snapshotsDir: (root) => join(root, "backend", "snapshots") },
);

snapshotterSuite("proxy over native", async (root) =>
  loopback(root, "native", await NativeSnapshotter.open({ root: join(root, "backend"), openDatabase })),
  { snapshotsDir: (root) => join(root, "backend", "snapshots"), deepLayers: 16 },
);

function grpcCall<Res>(fn: (cb: (e: ServiceError | null, r: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => fn((e, r) => (e ? reject(e) : resolve(r))));
}

describe("Snapshots service and proxy specifics", () => {
  let tmp = "";
  let server: Server | undefined;
  let client: SnapshotsClient | undefined;
  let backend: OverlaySnapshotter;
  let proxy: ProxySnapshotter | undefined;
  const events: Array<{ ns: string | undefined; topic: string; event: SnapshotEvent }> = [];
  const ctx: Context = withNamespace(background(), "default");
  const md = () => {
    const m = new Metadata();
    m.set("containerd-namespace", "default");
    return m;
  };

  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), "containerts-snapshots-grpc-"));
    backend = await OverlaySnapshotter.open({ root: join(tmp, "overlayfs"), openDatabase: () => new MemoryLevel() });
    const publisher = {
      publish: async (c: Context, topic: string, event: SnapshotEvent) => {
        events.push({ ns: c.namespace, topic, event });
      },
    };
    const socket = join(tmp, "grpc.sock");
    server = await serve(socket, new Map([["overlayfs", withSnapshotEvents(backend, publisher)]]));
    client = new SnapshotsClient(`unix://${socket}`, credentials.createInsecure());
    proxy = new ProxySnapshotter(target(socket), "overlayfs");
    events.length = 0;
  });

  afterEach(async () => {
    await proxy?.close();
    client?.close();
    server?.forceShutdown();
    await backend.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("publishes prepare, commit and remove events from the service layer, none for view", async () => {
    const p = proxy!;
    await p.prepare(ctx, "a", undefined);
    await p.commit(ctx, "c", "a");
    await p.view(ctx, "v", "c");
    await p.prepare(ctx, "b", "c");
    await p.remove(ctx, "b");
    expect(events).toEqual([
      { ns: "default", topic: "/snapshot/prepare", event: { typeUrl: "containerd.events.SnapshotPrepare", message: { key: "a", parent: "" } } },
      { ns: "default", topic: "/snapshot/commit", event: { typeUrl: "containerd.events.SnapshotCommit", message: { key: "a", name: "c" } } },
      { ns: "default", topic: "/snapshot/prepare", event: { typeUrl: "containerd.events.SnapshotPrepare", message: { key: "b", parent: "c" } } },
      { ns: "default", topic: "/snapshot/remove", event: { typeUrl: "containerd.events.SnapshotRemove", message: { key: "b" } } },
    ]);
    // A failed call publishes nothing.
    await expect(p.prepare(ctx, "a2", "missing")).rejects.toThrow(/parent snapshot missing does not exist/);
    expect(events).toHaveLength(4);
  });

  it("answers Cleanup with UNIMPLEMENTED through the service layer, as containerd 1.6", async () => {
    const err = await proxy!.cleanup(ctx).then(() => undefined, (e: unknown) => e);
    expect(kindOf(err)).toBe("NotImplemented");
    expect((err as Error).message).toBe("snapshotter does not implement Cleanup method: not implemented");
  });

  it("names a missing or unknown snapshotter with INVALID_ARGUMENT", async () => {
    const c = client!;
    const missing = await grpcCall((cb) => c.stat({ snapshotter: "", key: "x" }, md(), cb)).catch((e: ServiceError) => e);
    expect((missing as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    expect((missing as ServiceError).details).toBe("snapshotter argument missing: invalid argument");
    const unknown = await grpcCall((cb) => c.prepare({ snapshotter: "zfs", key: "x", parent: "", labels: {} }, md(), cb)).catch((e: ServiceError) => e);
    expect((unknown as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    expect((unknown as ServiceError).details).toBe("snapshotter not loaded: zfs: invalid argument");
    const stat = await grpcCall((cb) => c.stat({ snapshotter: "overlayfs", key: "nope" }, md(), cb)).catch((e: ServiceError) => e);
    expect((stat as ServiceError).code).toBe(status.NOT_FOUND);
    expect((stat as ServiceError).details).toBe("snapshot nope does not exist: not found");
    const usage = await grpcCall((cb) => c.usage({ snapshotter: "native", key: "nope" }, md(), cb)).catch((e: ServiceError) => e);
    expect((usage as ServiceError).details).toBe("snapshotter not loaded: native: invalid argument");
  });

  it("lists in batches of at most 100, and reports a bad filter as UNKNOWN like containerd 1.6", async () => {
    for (let i = 0; i < 250; i++) await backend.view(background(), `v${String(i).padStart(3, "0")}`, undefined);
    const c = client!;
    const sizes: number[] = [];
    const names: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = c.list({ snapshotter: "overlayfs", filters: [] }, md());
      call.on("data", (m: ListSnapshotsResponse) => {
        sizes.push(m.info.length);
        names.push(...m.info.map((i) => i.name));
      });
      call.on("error", reject);
      call.on("end", () => resolve());
    });
    expect(sizes).toEqual([100, 100, 50]);
    expect(names).toEqual([...names].sort());
    const bad = await new Promise<ServiceError>((resolve) => {
      const call = c.list({ snapshotter: "overlayfs", filters: ["name=="] }, md());
      call.on("data", () => undefined);
      call.on("error", (e: ServiceError) => resolve(e));
      call.on("end", () => resolve({ code: status.OK } as ServiceError));
    });
    expect(bad.code).toBe(status.UNKNOWN);
    expect(bad.details).toMatch(/^filters: parse error: /);
    // The proxy checks filters itself and keeps the Snapshotter contract.
    const err = await proxy!.walk(ctx, () => undefined, ["name=="]).then(() => undefined, (e: unknown) => e);
    expect(kindOf(err)).toBe("InvalidArgument");
    let count = 0;
    await proxy!.walk(ctx, () => {
      count++;
    }, ["name~=^v1"]);
    expect(count).toBe(100);
  });

  it("carries labels, update masks, usage and times over the wire", async () => {
    const p = proxy!;
    const t0 = Date.now();
    await p.prepare(ctx, "a", undefined, { labels: { x: "1", "containerd.io/gc.root": "t" } });
    const st = await p.stat(ctx, "a");
    expect(st).toMatchObject({ name: "a", kind: "active", labels: { x: "1", "containerd.io/gc.root": "t" } });
    expect(st.parent).toBeUndefined();
    expect(st.createdAt.getTime()).toBeGreaterThanOrEqual(t0 - 1);
    const up = await p.update(ctx, { name: "a", labels: { y: "2" } }, ["labels.y", "labels.x"]);
    expect(up.labels).toEqual({ y: "2", "containerd.io/gc.root": "t" });
    expect((await p.usage(ctx, "a")).inodes).toBe(1);
    const bad = await p.update(ctx, { name: "a" }, ["kind"]).then(() => undefined, (e: unknown) => e);
    expect(kindOf(bad)).toBe("InvalidArgument");
  });
});
