/**
 * The whole content and leases stacks in one process, without the daemon binary: proxy → gRPC adapter
 * → service layer → metadata database (memory-level) → local blob store. Runs the content
 * conformance suite through it, plus the service-layer behaviour (events, namespaces, sync lease
 * deletes through the GC scheduler).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { digestOf, writeBlob } from "@containerts/content";
import { createContentServer } from "@containerts/content/grpc";
import { LocalContentStore } from "@containerts/content/local";
import { createContentService } from "@containerts/content/plugin";
import { ProxyContentStore } from "@containerts/content/proxy";
import { contentSuite } from "@containerts/content/testsuite";
import { kindOf } from "@containerts/errdefs";
import { createLeasesServer } from "@containerts/leases/grpc";
import { createLeasesService } from "@containerts/leases/plugin";
import { ProxyLeaseManager } from "@containerts/leases/proxy";
import { DB, createGcScheduler, type GcScheduler } from "@containerts/metadata";
import { type Context, background, withLease, withNamespace } from "@containerts/namespaces";
import { Server, ServerCredentials, credentials } from "@grpc/grpc-js";
import { MemoryLevel } from "memory-level";
import { afterEach, describe, expect, it } from "vitest";

interface Published {
  readonly namespace: string | undefined;
  readonly topic: string;
  readonly event: { readonly typeUrl: string; readonly message: Readonly<Record<string, unknown>> };
}

interface Stack {
  readonly content: ProxyContentStore;
  readonly leases: ProxyLeaseManager;
  readonly db: DB;
  readonly published: Published[];
  cleanup(): Promise<void>;
}

async function startStack(): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), "content-stack-"));
  const cleanups: (() => Promise<void> | void)[] = [() => rm(dir, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    const backend = await LocalContentStore.open(join(dir, "content"));
    const db = await DB.open(new MemoryLevel<string, string>(), { content: backend });
    cleanups.push(() => db.close());
    const scheduler: GcScheduler = createGcScheduler(db, { startupDelayMs: 60_000 });
    cleanups.push(() => scheduler.close());
    const published: Published[] = [];
    const publisher = {
      publish: async (ctx: Context, topic: string, event: Published["event"]) => void published.push({ namespace: ctx.namespace, topic, event }),
    };
    const server = new Server({ "grpc.max_receive_message_length": 16 << 20, "grpc.max_send_message_length": 16 << 20 });
    createContentServer(createContentService(db.contentStore(), publisher)).register(server);
    createLeasesServer(createLeasesService(db.leaseManager(), scheduler)).register(server);
    const address = `unix://${join(dir, "stack.sock")}`;
    await new Promise<void>((res, rej) => server.bindAsync(address, ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    cleanups.push(() => server.forceShutdown());
    const target = { address, credentials: credentials.createInsecure(), options: { "grpc.max_receive_message_length": 16 << 20 } };
    const content = new ProxyContentStore(target);
    const leases = new ProxyLeaseManager(target);
    cleanups.push(() => {
      content.close();
      leases.close();
    });
    return { content, leases, db, published, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

contentSuite("proxy → gRPC → content service → metadata (memory-level) → local", async () => {
  const stack = await startStack();
  return { store: stack.content, ctx: withNamespace(background(), "suite"), cleanup: stack.cleanup };
});

describe("content and leases services through gRPC (in process)", () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.cleanup();
    stack = undefined;
  });

  it("publishes /content/delete after a delete", async () => {
    stack = await startStack();
    const ctx = withNamespace(background(), "events");
    const bytes = new TextEncoder().encode("delete me");
    const dgst = digestOf(bytes);
    await writeBlob(stack.content, ctx, "del", bytes, { expected: dgst });
    await stack.content.delete(ctx, dgst);
    expect(stack.published).toEqual([
      { namespace: "events", topic: "/content/delete", event: { typeUrl: "containerd.events.ContentDelete", message: { digest: dgst } } },
    ]);
    await expect(stack.content.delete(ctx, dgst)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
    expect(stack.published).toHaveLength(1);
  });

  it("keeps namespaces apart and shares blobs on disk", async () => {
    stack = await startStack();
    const a = withNamespace(background(), "ns-a");
    const b = withNamespace(background(), "ns-b");
    const bytes = new Uint8Array(4096).fill(3);
    const dgst = digestOf(bytes);
    await writeBlob(stack.content, a, "blob", bytes, { total: bytes.byteLength, expected: dgst });
    await expect(stack.content.info(b, dgst)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
    // Shared policy: B's writer starts at offset = size; committing links the blob into B.
    const w = await stack.content.writer(b, { ref: "blob", total: bytes.byteLength, expected: dgst });
    expect(w.offset).toBe(bytes.byteLength);
    await w.commit(bytes.byteLength, dgst);
    expect((await stack.content.info(b, dgst)).size).toBe(bytes.byteLength);
  });

  it("requires a namespace", async () => {
    stack = await startStack();
    await expect(stack.content.listStatuses(background())).rejects.toSatisfy((e) => kindOf(e) === "FailedPrecondition");
    await expect(stack.leases.list(background())).rejects.toSatisfy((e) => kindOf(e) === "FailedPrecondition");
  });

  it("attaches what a leased request creates and collects it after a sync delete", async () => {
    stack = await startStack();
    const ctx = withNamespace(background(), "leased");
    const lease = await stack.leases.create(ctx, { labels: { a: "b" } });
    expect((await stack.leases.list(ctx, [`id==${lease.id}`])).map((l) => l.labels)).toEqual([{ a: "b" }]);
    const bytes = new TextEncoder().encode("leased blob");
    const dgst = digestOf(bytes);
    await writeBlob(stack.content, withLease(ctx, lease.id), "leased", bytes, { expected: dgst });
    expect(await stack.leases.listResources(ctx, lease)).toEqual([{ id: dgst, type: "content" }]);
    await expect(stack.leases.create(ctx, { id: lease.id })).rejects.toSatisfy((e) => kindOf(e) === "AlreadyExists");
    await expect(
      writeBlob(stack.content, withLease(ctx, "no-such-lease"), "x", bytes, { expected: digestOf("x") }),
    ).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
    await stack.leases.delete(ctx, lease, { sync: true });
    await expect(stack.content.info(ctx, dgst)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
    await expect(stack.leases.delete(ctx, lease)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
  });

  it("applies containerd's resource type rules", async () => {
    stack = await startStack();
    const ctx = withNamespace(background(), "resources");
    const lease = await stack.leases.create(ctx, { id: "/tmp/not an identifier" });
    const dgst = digestOf("r");
    await stack.leases.addResource(ctx, lease, { id: dgst, type: "content" });
    await stack.leases.addResource(ctx, lease, { id: "ingest ref", type: "ingests" });
    await stack.leases.addResource(ctx, lease, { id: "snap key", type: "snapshots/overlayfs" });
    expect(await stack.leases.listResources(ctx, lease)).toEqual([
      { id: dgst, type: "content" },
      { id: "ingest ref", type: "ingests" },
      { id: "snap key", type: "snapshots/overlayfs" },
    ]);
    const kind = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => kindOf(e));
    expect(await kind(stack.leases.addResource(ctx, lease, { id: "k", type: "snapshots" }))).toBe("InvalidArgument");
    expect(await kind(stack.leases.addResource(ctx, lease, { id: "not-a-digest", type: "content" }))).toBe("InvalidArgument");
    expect(await kind(stack.leases.addResource(ctx, lease, { id: "x", type: "images" }))).toBe("NotImplemented");
    expect(await kind(stack.leases.addResource(ctx, { id: "missing" }, { id: dgst, type: "content" }))).toBe("NotFound");
    await stack.leases.deleteResource(ctx, lease, { id: "ingest ref", type: "ingests" });
    expect((await stack.leases.listResources(ctx, lease)).map((r) => r.type)).toEqual(["content", "snapshots/overlayfs"]);
  });
});
