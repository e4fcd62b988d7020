import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { AlreadyExistsError, NotFoundError, NotImplementedError, kindOf } from "@containerts/errdefs";
import { type Context, background, namespaceRequired, withNamespace } from "@containerts/namespaces";
import { Server, ServerCredentials, credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { generateLeaseId, type CreateLeaseOptions, type DeleteLeaseOptions, type Lease, type LeaseManager, type LeaseResource } from "../index.js";
import { ProxyLeaseManager } from "../proxy/index.js";
import { createLeasesService } from "../service.js";
import { createLeasesServer } from "./server.js";

/** A minimal in-memory manager recording what reaches it (the adapter under test is mechanical). */
class RecordingManager implements LeaseManager {
  readonly leases = new Map<string, { lease: Lease; resources: LeaseResource[] }>();
  readonly deletes: { id: string; options: DeleteLeaseOptions | undefined }[] = [];
  seen: Context | undefined;

  #key(ctx: Context, id: string): string {
    return `${namespaceRequired(ctx)}/${id}`;
  }
  #get(ctx: Context, id: string) {
    const l = this.leases.get(this.#key(ctx, id));
    if (l === undefined) throw new NotFoundError(`lease ${JSON.stringify(id)}`);
    return l;
  }
  async create(ctx: Context, options: CreateLeaseOptions = {}): Promise<Lease> {
    this.seen = ctx;
    const id = options.id ?? generateLeaseId();
    if (this.leases.has(this.#key(ctx, id))) throw new AlreadyExistsError(`lease ${JSON.stringify(id)}`);
    const lease = { id, createdAt: new Date(), labels: { ...(options.labels ?? {}) } };
    this.leases.set(this.#key(ctx, id), { lease, resources: [] });
    return lease;
  }
  async delete(ctx: Context, lease: Pick<Lease, "id">, options?: DeleteLeaseOptions): Promise<void> {
    this.#get(ctx, lease.id);
    this.leases.delete(this.#key(ctx, lease.id));
    this.deletes.push({ id: lease.id, options });
  }
  async list(ctx: Context): Promise<Lease[]> {
    const ns = namespaceRequired(ctx);
    return [...this.leases.entries()].filter(([k]) => k.startsWith(`${ns}/`)).map(([, v]) => v.lease);
  }
  async addResource(ctx: Context, lease: Pick<Lease, "id">, r: LeaseResource): Promise<void> {
    if (r.type !== "content" && r.type !== "ingests") throw new NotImplementedError(`resource type ${r.type} not supported yet`);
    this.#get(ctx, lease.id).resources.push(r);
  }
  async deleteResource(ctx: Context, lease: Pick<Lease, "id">, r: LeaseResource): Promise<void> {
    const l = this.#get(ctx, lease.id);
    l.resources = l.resources.filter((x) => x.id !== r.id || x.type !== r.type);
  }
  async listResources(ctx: Context, lease: Pick<Lease, "id">): Promise<LeaseResource[]> {
    return this.#get(ctx, lease.id).resources;
  }
}

describe("Leases gRPC service and proxy", () => {
  let dir: string;
  let server: Server;
  let proxy: ProxyLeaseManager;
  const manager = new RecordingManager();
  const collections: number[] = [];
  const ctx = withNamespace(background(), "leases-test");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "leases-grpc-"));
    server = new Server();
    const scheduler = { scheduleAndWait: async () => void collections.push(Date.now()) };
    createLeasesServer(createLeasesService(manager, scheduler)).register(server);
    const address = `unix://${join(dir, "l.sock")}`;
    await new Promise<void>((res, rej) => server.bindAsync(address, ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    proxy = new ProxyLeaseManager({ address, credentials: credentials.createInsecure(), options: {} });
  });
  afterAll(async () => {
    proxy.close();
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates leases with a given or generated id and reports AlreadyExists", async () => {
    const a = await proxy.create(ctx, { id: "my-lease", labels: { "containerd.io/gc.expire": "2099-01-01T00:00:00Z" } });
    expect(a).toMatchObject({ id: "my-lease", labels: { "containerd.io/gc.expire": "2099-01-01T00:00:00Z" } });
    expect(Math.abs(a.createdAt.getTime() - Date.now())).toBeLessThan(5000);
    expect(manager.seen?.namespace).toBe("leases-test");
    const b = await proxy.create(ctx);
    expect(b.id).toMatch(/^\d+-[A-Za-z0-9_-]{4}$/);
    const err = await proxy.create(ctx, { id: "my-lease" }).catch((e: unknown) => e);
    expect(kindOf(err)).toBe("AlreadyExists");
    expect((err as Error).message).toBe('lease "my-lease": already exists');
    expect((await proxy.list(ctx)).map((l) => l.id).sort()).toEqual([b.id, "my-lease"].sort());
    await proxy.delete(ctx, b);
  });

  it("manages resources and maps NotImplemented and NotFound", async () => {
    const dgst = `sha256:${"a".repeat(64)}`;
    await proxy.addResource(ctx, { id: "my-lease" }, { id: dgst, type: "content" });
    await proxy.addResource(ctx, { id: "my-lease" }, { id: "ingest-1", type: "ingests" });
    expect(await proxy.listResources(ctx, { id: "my-lease" })).toEqual([
      { id: dgst, type: "content" },
      { id: "ingest-1", type: "ingests" },
    ]);
    await proxy.deleteResource(ctx, { id: "my-lease" }, { id: "ingest-1", type: "ingests" });
    expect(await proxy.listResources(ctx, { id: "my-lease" })).toEqual([{ id: dgst, type: "content" }]);
    expect(kindOf(await proxy.addResource(ctx, { id: "my-lease" }, { id: "x", type: "bogus" }).catch((e: unknown) => e))).toBe("NotImplemented");
    expect(kindOf(await proxy.listResources(ctx, { id: "nope" }).catch((e: unknown) => e))).toBe("NotFound");
  });

  it("deletes synchronously by waiting for a collection through the scheduler", async () => {
    const before = collections.length;
    await proxy.delete(ctx, { id: "my-lease" }, { sync: true });
    expect(collections.length).toBe(before + 1);
    expect(manager.deletes.at(-1)).toEqual({ id: "my-lease", options: undefined });
    await proxy.create(ctx, { id: "async" });
    await proxy.delete(ctx, { id: "async" });
    expect(collections.length).toBe(before + 1);
    expect(kindOf(await proxy.delete(ctx, { id: "async" }).catch((e: unknown) => e))).toBe("NotFound");
  });

  it("requires a namespace", async () => {
    const err = await proxy.list(background()).catch((e: unknown) => e);
    expect(kindOf(err)).toBe("FailedPrecondition");
  });
});
