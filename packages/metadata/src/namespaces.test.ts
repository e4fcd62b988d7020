import { writeBlob } from "@containerts/content";
import { kindOf } from "@containerts/errdefs";
import { background } from "@containerts/namespaces";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type Fixture, blob, createFixture, nsCtx, thrown } from "../test/helpers.js";
import { type MetadataNamespaceStore, createNamespaceStore } from "./namespaces.js";
import { defineObjectKind, snapshotsKindName } from "./objects.js";

const images = defineObjectKind<{ target: string }>({ name: "images", gcRefs: (r) => ({ root: true, content: [r.target] }) });
const containers = defineObjectKind<{ id: string }>({ name: "containers", gcRefs: () => ({ root: true }) });
const overlay = defineObjectKind<{ parent?: string }>({ name: snapshotsKindName("overlayfs"), gcRefs: () => ({}) });

describe("namespace store", () => {
  let fx: Fixture;
  let store: MetadataNamespaceStore;
  const ctx = background();

  beforeEach(async () => {
    fx = await createFixture();
    store = createNamespaceStore(fx.db);
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  it("creates, gets, lists and refuses duplicates", async () => {
    expect(await store.create(ctx, "a", { x: "y", empty: "" })).toEqual({ name: "a", labels: { x: "y" } });
    expect(await store.get(ctx, "a")).toEqual({ name: "a", labels: { x: "y" } });
    const dup = await thrown(() => store.create(ctx, "a"));
    expect(kindOf(dup)).toBe("AlreadyExists");
    expect(dup.message).toBe('namespace "a": already exists');
    await store.create(ctx, "b");
    expect(await store.list(ctx)).toEqual([
      { name: "a", labels: { x: "y" } },
      { name: "b", labels: {} },
    ]);
  });

  it("validates names and labels", async () => {
    expect(kindOf(await thrown(() => store.create(ctx, "no/slash")))).toBe("InvalidArgument");
    expect(kindOf(await thrown(() => store.create(ctx, "")))).toBe("InvalidArgument");
    const big = await thrown(() => store.create(ctx, "big", { k: "v".repeat(4096) }));
    expect(kindOf(big)).toBe("InvalidArgument");
    expect(big.message).toContain("label key and value greater than maximum size (4096 bytes)");
  });

  it("returns { name, labels: {} } for an unknown namespace, like containerd", async () => {
    expect(await store.get(ctx, "nope")).toEqual({ name: "nope", labels: {} });
    expect(await store.labels(ctx, "nope")).toEqual({});
    expect(await store.list(ctx)).toEqual([]);
  });

  it("creates namespaces implicitly on any write and then refuses Create", async () => {
    await fx.db.leaseManager().create(nsCtx("by-lease"), { id: "l1" });
    const { bytes, dgst } = blob("hello");
    await writeBlob(fx.db.contentStore(), nsCtx("by-content"), "ref", bytes, { expected: dgst });
    await fx.db.update((tx) => tx.putRecord(images, "by-image", "docker.io/library/busybox:latest", { target: dgst }));
    expect((await store.list(ctx)).map((n) => n.name)).toEqual(["by-content", "by-image", "by-lease"]);
    expect(kindOf(await thrown(() => store.create(ctx, "by-lease")))).toBe("AlreadyExists");
  });

  it("updates labels by field path or replaces them", async () => {
    await store.create(ctx, "u", { a: "1", b: "2" });
    await store.update(ctx, { name: "u", labels: { b: "", c: "3", ignored: "x" } }, ["labels.b", "labels.c"]);
    expect((await store.get(ctx, "u")).labels).toEqual({ a: "1", c: "3" });
    await store.update(ctx, { name: "u", labels: { "containerd.io/defaults/snapshotter": "native" } });
    expect(await store.labels(ctx, "u")).toEqual({ "containerd.io/defaults/snapshotter": "native" });
    await store.setLabel(ctx, "u", "containerd.io/defaults/snapshotter", "");
    expect(await store.labels(ctx, "u")).toEqual({});
    const bad = await thrown(() => store.update(ctx, { name: "u", labels: {} }, ["name"]));
    expect(kindOf(bad)).toBe("InvalidArgument");
    expect(bad.message).toBe('cannot update "name" field: invalid argument');
    expect(kindOf(await thrown(() => store.update(ctx, { name: "u", labels: {} }, ["labels"])))).toBe("InvalidArgument");
    // Update creates the namespace when it does not exist (the service writes labels through SetLabel).
    await store.update(ctx, { name: "fresh", labels: { k: "v" } }, ["labels.k"]);
    expect(await store.get(ctx, "fresh")).toEqual({ name: "fresh", labels: { k: "v" } });
  });

  it("deletes an empty namespace and reports NotFound for an absent one", async () => {
    await store.create(ctx, "gone", { x: "y" });
    await store.delete(ctx, "gone");
    expect(await store.list(ctx)).toEqual([]);
    const missing = await thrown(() => store.delete(ctx, "gone"));
    expect(kindOf(missing)).toBe("NotFound");
    expect(missing.message).toBe('namespace "gone": not found');
  });

  it("refuses to delete a namespace that still has images, blobs, containers or snapshots, naming them", async () => {
    const { bytes, dgst } = blob("content");
    await writeBlob(fx.db.contentStore(), nsCtx("full"), "ref", bytes, { expected: dgst });
    let err = await thrown(() => store.delete(ctx, "full"));
    expect(kindOf(err)).toBe("FailedPrecondition");
    expect(err.message).toBe('namespace "full" must be empty, but it still has blobs: failed precondition');

    await fx.db.update(async (tx) => {
      await tx.putRecord(images, "full", "img", { target: dgst });
      await tx.putRecord(containers, "full", "c1", { id: "c1" });
      await tx.putRecord(overlay, "full", "key", {});
    });
    err = await thrown(() => store.delete(ctx, "full"));
    expect(err.message).toBe(
      'namespace "full" must be empty, but it still has images, blobs, containers, snapshots on "overlayfs" snapshotter: failed precondition',
    );

    await fx.db.update(async (tx) => {
      await tx.deleteRecord(images, "full", "img");
      await tx.deleteRecord(containers, "full", "c1");
      await tx.deleteRecord(overlay, "full", "key");
    });
    await fx.db.contentStore().delete(nsCtx("full"), dgst);
    await store.delete(ctx, "full");
    expect(await store.list(ctx)).toEqual([]);
  });

  it("lets leases and ingests not block deletion, and removes them with the namespace", async () => {
    const leases = fx.db.leaseManager();
    await leases.create(nsCtx("soft"), { id: "l" });
    const w = await fx.db.contentStore().writer(nsCtx("soft"), { ref: "pending" });
    await w.write(new Uint8Array([1, 2, 3]));
    await w.close();
    await store.delete(ctx, "soft");
    expect(await store.list(ctx)).toEqual([]);
    expect(await leases.list(nsCtx("soft"))).toEqual([]);
    await expect(fx.db.contentStore().status(nsCtx("soft"), "pending")).rejects.toMatchObject({ kind: "NotFound" });
    // The backend ingest is garbage now: a collection aborts it.
    const stats = await fx.db.garbageCollect();
    expect(stats.removed.backendIngests).toBe(1);
    expect(await fx.backend.listStatuses(background())).toEqual([]);
  });
});
