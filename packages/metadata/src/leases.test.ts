import { writeBlob } from "@containerts/content";
import { kindOf } from "@containerts/errdefs";
import { background } from "@containerts/namespaces";
import type { LeaseManager } from "@containerts/leases";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type Fixture, blob, createFixture, nsCtx, thrown } from "../test/helpers.js";

describe("metadata lease manager", () => {
  let fx: Fixture;
  let leases: LeaseManager;
  const ctx = nsCtx("default");

  beforeEach(async () => {
    fx = await createFixture();
    leases = fx.db.leaseManager();
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  it("creates leases with a given or generated id and refuses duplicates", async () => {
    const before = Date.now();
    const l = await leases.create(ctx, { id: "/tmp/mnt", labels: { a: "b", big: "x".repeat(5000) } });
    expect(l.id).toBe("/tmp/mnt");
    expect(l.labels).toEqual({ a: "b", big: "x".repeat(5000) });
    expect(l.createdAt.getTime()).toBeGreaterThanOrEqual(before);
    const generated = await leases.create(ctx);
    expect(generated.id).toMatch(/^\d{1,9}-[A-Za-z0-9_-]{4}$/);
    expect(generated.labels).toEqual({});
    const dup = await thrown(() => leases.create(ctx, { id: "/tmp/mnt" }));
    expect(kindOf(dup)).toBe("AlreadyExists");
    expect(dup.message).toBe('lease "/tmp/mnt": already exists');
    expect(kindOf(await thrown(() => leases.create(background())))).toBe("FailedPrecondition");
  });

  it("lists leases per namespace with filters", async () => {
    await leases.create(ctx, { id: "one", labels: { "containerd.io/gc.expire": "2100-01-01T00:00:00Z", app: "x" } });
    await leases.create(ctx, { id: "two", labels: { app: "y" } });
    await leases.create(nsCtx("other"), { id: "three" });
    expect((await leases.list(ctx)).map((l) => l.id)).toEqual(["one", "two"]);
    expect((await leases.list(ctx, [""])).length).toBe(2);
    expect((await leases.list(ctx, ["id==two"])).map((l) => l.id)).toEqual(["two"]);
    expect((await leases.list(ctx, ["labels.app==x", "labels.app==y"])).length).toBe(2);
    expect((await leases.list(ctx, ['labels."containerd.io/gc.expire"'])).map((l) => l.id)).toEqual(["one"]);
    expect(kindOf(await thrown(() => leases.list(ctx, ["id=="])))).toBe("InvalidArgument");
    const [one] = await leases.list(ctx, ["id==one"]);
    expect(one?.createdAt).toBeInstanceOf(Date);
  });

  it("deletes leases and reports NotFound for unknown ones", async () => {
    await leases.create(ctx, { id: "l" });
    await leases.delete(ctx, { id: "l" });
    expect(await leases.list(ctx)).toEqual([]);
    const err = await thrown(() => leases.delete(ctx, { id: "l" }));
    expect(kindOf(err)).toBe("NotFound");
    expect(err.message).toBe('lease "l": not found');
  });

  it("adds, lists and removes resources, validating their types", async () => {
    const l = await leases.create(ctx, { id: "r" });
    const { dgst } = blob("resource");
    await leases.addResource(ctx, l, { id: dgst, type: "content" });
    await leases.addResource(ctx, l, { id: dgst, type: "content" }); // idempotent
    await leases.addResource(ctx, l, { id: "ingest-ref", type: "ingests" });
    await leases.addResource(ctx, l, { id: "extract-1 sha256:abc", type: "snapshots/overlayfs" });
    await leases.addResource(ctx, l, { id: "k", type: "snapshots/native" });
    expect(await leases.listResources(ctx, l)).toEqual([
      { id: dgst, type: "content" },
      { id: "ingest-ref", type: "ingests" },
      { id: "k", type: "snapshots/native" },
      { id: "extract-1 sha256:abc", type: "snapshots/overlayfs" },
    ]);

    const notDigest = await thrown(() => leases.addResource(ctx, l, { id: "nope", type: "content" }));
    expect(kindOf(notDigest)).toBe("InvalidArgument");
    expect(kindOf(await thrown(() => leases.addResource(ctx, l, { id: "k", type: "snapshots" })))).toBe("InvalidArgument");
    expect(kindOf(await thrown(() => leases.addResource(ctx, l, { id: "k", type: "snapshots/a/b" })))).toBe("InvalidArgument");
    const unknown = await thrown(() => leases.addResource(ctx, l, { id: "k", type: "images" }));
    expect(kindOf(unknown)).toBe("NotImplemented");
    expect(unknown.message).toBe("resource type images not supported yet: not implemented");
    expect(kindOf(await thrown(() => leases.addResource(ctx, { id: "missing" }, { id: dgst, type: "content" })))).toBe("NotFound");
    expect(kindOf(await thrown(() => leases.listResources(ctx, { id: "missing" })))).toBe("NotFound");

    await leases.deleteResource(ctx, l, { id: "k", type: "snapshots/native" });
    await leases.deleteResource(ctx, l, { id: "never-added", type: "ingests" });
    await leases.deleteResource(ctx, l, { id: dgst, type: "content" });
    expect(await leases.listResources(ctx, l)).toEqual([
      { id: "ingest-ref", type: "ingests" },
      { id: "extract-1 sha256:abc", type: "snapshots/overlayfs" },
    ]);
    // Deleting the lease drops its resources.
    await leases.delete(ctx, l);
    await leases.create(ctx, { id: "r" });
    expect(await leases.listResources(ctx, l)).toEqual([]);
  });

  it("with sync, collects what only the lease protected before delete resolves", async () => {
    const l = await leases.create(ctx, { id: "pull" });
    const cs = fx.db.contentStore();
    const { bytes, dgst } = blob("temporary");
    await writeBlob(cs, nsCtx("default", l.id), "tmp", bytes, { expected: dgst });
    expect((await fx.db.garbageCollect()).removed.content).toBe(0);
    await leases.delete(ctx, l, { sync: true });
    await expect(cs.info(ctx, dgst)).rejects.toMatchObject({ kind: "NotFound" });
    await expect(fx.backend.info(background(), dgst)).rejects.toMatchObject({ kind: "NotFound" });
  });
});
