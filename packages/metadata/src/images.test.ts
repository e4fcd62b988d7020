import { readBlob } from "@containerts/content";
import { imageStoreSuite, buildTestImage, writeTestImage, type TestImage } from "@containerts/images/testsuite";
import { labelGcRefContentPrefix, labelGcRefSnapshotPrefix } from "@containerts/images";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type Fixture, createFixture, nsCtx, thrown } from "../test/helpers.js";
import { MetadataImageStore } from "./images.js";
import { createGcScheduler } from "./scheduler.js";
import { imagesKindName } from "./objects.js";
import { keys } from "./schema.js";

imageStoreSuite("metadata (memory-level)", async () => {
  const fx = await createFixture();
  return { store: new MetadataImageStore(fx.db), ctx: nsCtx("testsuite"), cleanup: () => fx.cleanup() };
});

describe("metadata image store", () => {
  let fx: Fixture;
  let images: MetadataImageStore;
  beforeEach(async () => {
    fx = await createFixture();
    images = new MetadataImageStore(fx.db);
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  /** Writes the blobs of a test image into namespace `ns` (parents labelled for GC) and returns it. */
  async function stored(ns: string, seed: string): Promise<TestImage> {
    const image = buildTestImage({ seed });
    await writeTestImage(fx.db.contentStore(), nsCtx(ns), image);
    return image;
  }

  async function present(ns: string, image: TestImage): Promise<boolean[]> {
    const cs = fx.db.contentStore();
    return Promise.all(image.blobs.map((b) => cs.info(nsCtx(ns), b.descriptor.digest).then(() => true, () => false)));
  }

  it("persists records with the target and times, and creates the namespace", async () => {
    const ctx = nsCtx("fresh");
    const t = { mediaType: "application/vnd.oci.image.index.v1+json", digest: `sha256:${"1".repeat(64)}`, size: 42, annotations: { a: "b" } };
    const created = await images.create(ctx, { name: "docker.io/library/x:1", labels: { l: "v" }, target: t });
    expect((await fx.db.namespaceStore().list(ctx)).map((n) => n.name)).toContain("fresh");
    const raw = await fx.db.view((tx) => tx.getJson<{ v: unknown; gc: unknown }>(keys.object("fresh", imagesKindName, "docker.io/library/x:1")));
    expect(raw).toEqual({
      v: { labels: { l: "v" }, target: t, createdAt: created.createdAt.toISOString(), updatedAt: created.updatedAt.toISOString() },
      gc: { root: true, content: [t.digest] },
    });
    // A fresh store over the same database sees the same record.
    expect(await new MetadataImageStore(fx.db).get(ctx, "docker.io/library/x:1")).toEqual(created);
  });

  it("blocks deleting its namespace until the images are gone", async () => {
    const ctx = nsCtx("busy");
    await images.create(ctx, { name: "i", target: { mediaType: "m", digest: `sha256:${"2".repeat(64)}`, size: 1 } });
    const err = await thrown(() => fx.db.namespaceStore().delete(ctx, "busy"));
    expect(err.message).toBe('namespace "busy" must be empty, but it still has images: failed precondition');
    await images.delete(ctx, "i");
    await fx.db.namespaceStore().delete(ctx, "busy");
  });

  it("keeps the content an image references through GC, and drops it after a sync delete", async () => {
    const ctx = nsCtx("gc");
    const image = await stored("gc", "keep");
    const orphan = await stored("gc", "orphan");
    await images.create(ctx, { name: "kept", target: image.target });
    await fx.db.garbageCollect();
    expect(await present("gc", image)).toEqual(image.blobs.map(() => true));
    expect(await present("gc", orphan)).toEqual(orphan.blobs.map(() => false));
    // The bytes are still on disk and readable.
    const layer = image.manifests[1]!.layers[0]!;
    expect((await readBlob(fx.db.contentStore(), ctx, layer.digest)).byteLength).toBe(layer.size);

    await images.delete(ctx, "kept", { sync: true });
    expect(await present("gc", image)).toEqual(image.blobs.map(() => false));
    const onDisk: string[] = [];
    await fx.backend.walk(ctx, (i) => void onDisk.push(i.digest));
    expect(onDisk).toEqual([]);
  });

  it("keeps what an image's gc.ref labels reference, and follows label changes", async () => {
    const ctx = nsCtx("labels");
    const image = await stored("labels", "main");
    const extra = await stored("labels", "extra");
    await images.create(ctx, { name: "main", target: image.target, labels: { [`${labelGcRefContentPrefix}extra`]: extra.target.digest } });
    await fx.db.garbageCollect();
    expect(await present("labels", extra)).toEqual(extra.blobs.map(() => true));
    await images.update(ctx, { name: "main", labels: {} }, [`labels.${labelGcRefContentPrefix}extra`]);
    await fx.db.garbageCollect();
    expect(await present("labels", extra)).toEqual(extra.blobs.map(() => false));
    expect(await present("labels", image)).toEqual(image.blobs.map(() => true));
    // Snapshot references are recorded as GC edges too.
    await images.update(ctx, { name: "main", labels: { [`${labelGcRefSnapshotPrefix}overlayfs`]: "sha256:chain" } }, [`labels.${labelGcRefSnapshotPrefix}overlayfs`]);
    const raw = await fx.db.view((tx) => tx.getJson<{ gc: unknown }>(keys.object("labels", imagesKindName, "main")));
    expect(raw?.gc).toEqual({ root: true, content: [image.target.digest], snapshots: [["overlayfs", "sha256:chain"]] });
  });

  it("keeps a blob shared by two images until both are deleted, per namespace", async () => {
    const a = nsCtx("a");
    const b = nsCtx("b");
    const image = await stored("a", "shared");
    await writeTestImage(fx.db.contentStore(), b, image);
    await images.create(a, { name: "one", target: image.target });
    await images.create(a, { name: "two", target: image.target });
    await images.create(b, { name: "one", target: image.target });
    await images.delete(a, "one", { sync: true });
    expect(await present("a", image)).toEqual(image.blobs.map(() => true));
    await images.delete(a, "two", { sync: true });
    expect(await present("a", image)).toEqual(image.blobs.map(() => false));
    expect(await present("b", image)).toEqual(image.blobs.map(() => true));
  });

  it("waits for a collection through the attached scheduler on a sync delete", async () => {
    const gc = createGcScheduler(fx.db, { startupDelayMs: 60_000, mutationThreshold: 0 });
    try {
      const ctx = nsCtx("sched");
      const image = await stored("sched", "s");
      await images.create(ctx, { name: "s", target: image.target });
      const before = gc.stats().collections;
      await images.delete(ctx, "s", { sync: true });
      expect(gc.stats().collections).toBeGreaterThan(before);
      expect(await present("sched", image)).toEqual(image.blobs.map(() => false));
    } finally {
      await gc.close();
    }
  });
});
