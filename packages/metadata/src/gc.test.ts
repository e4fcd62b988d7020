import { type Digest, writeBlob } from "@containerts/content";
import { expirationLabels } from "@containerts/leases";
import { background } from "@containerts/namespaces";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type Fixture, blob, createFixture, nsCtx } from "../test/helpers.js";
import type { IngestRecord } from "./content.js";
import { defineObjectKind, isGcRoot, labelRefs, snapshotsKindName } from "./objects.js";
import { keys } from "./schema.js";

interface TestImage {
  readonly target: Digest;
  readonly labels?: Record<string, string>;
}
const images = defineObjectKind<TestImage>({
  name: "images",
  gcRefs: (r) => {
    const refs = labelRefs(r.labels);
    return { root: true, content: [r.target, ...refs.content], snapshots: refs.snapshots };
  },
});

interface TestContainer {
  readonly snapshotter: string;
  readonly snapshotKey: string;
}
const containers = defineObjectKind<TestContainer>({
  name: "containers",
  gcRefs: (r) => ({ root: true, snapshots: [{ snapshotter: r.snapshotter, key: r.snapshotKey }] }),
});

interface TestSnapshot {
  readonly parent?: string;
  readonly backend: string;
  readonly labels?: Record<string, string>;
}
const snapshots = (snapshotter: string) =>
  defineObjectKind<TestSnapshot>({
    name: snapshotsKindName(snapshotter),
    gcRefs: (r) => {
      const refs = labelRefs(r.labels);
      return {
        root: isGcRoot(r.labels),
        content: refs.content,
        snapshots: refs.snapshots,
        parents: r.parent === undefined ? [] : [{ snapshotter, key: r.parent }],
        backendKey: r.backend,
      };
    },
  });
const overlay = snapshots("overlayfs");

describe("garbage collection", () => {
  let fx: Fixture;
  const ns = "default";
  const ctx = nsCtx(ns);

  beforeEach(async () => {
    fx = await createFixture();
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  const put = async (text: string, labels?: Record<string, string>, lease?: string) => {
    const b = blob(text);
    await writeBlob(fx.db.contentStore(), nsCtx(ns, lease), `ref-${text}`, b.bytes, { expected: b.dgst, ...(labels ? { labels } : {}) });
    return b.dgst;
  };
  const visible = async (dgst: Digest, n = ns) =>
    fx.db.contentStore().info(nsCtx(n), dgst).then(
      () => true,
      () => false,
    );
  const onDisk = async (dgst: Digest) =>
    fx.backend.info(background(), dgst).then(
      () => true,
      () => false,
    );

  it("removes unreferenced blobs, from the namespace and from disk", async () => {
    const dgst = await put("orphan");
    const stats = await fx.db.garbageCollect();
    expect(stats.removed.content).toBe(1);
    expect(stats.removed.backendBlobs).toBe(1);
    expect(await visible(dgst)).toBe(false);
    expect(await onDisk(dgst)).toBe(false);
    expect(stats.metadataMs).toBeGreaterThanOrEqual(0);
    expect(stats.startedAt).toBeInstanceOf(Date);
  });

  it("keeps a blob another namespace still references", async () => {
    const dgst = await put("twice");
    await writeBlob(fx.db.contentStore(), nsCtx("keeper"), "k", blob("twice").bytes, { expected: dgst, labels: { "containerd.io/gc.root": "now" } });
    await fx.db.garbageCollect();
    expect(await visible(dgst)).toBe(false);
    expect(await visible(dgst, "keeper")).toBe(true);
    expect(await onDisk(dgst)).toBe(true);
  });

  it("keeps blobs referenced by an image, through gc.ref label chains, and collects them once the image goes", async () => {
    const layer0 = await put("layer0");
    const layer1 = await put("layer1");
    const extra = await put("extra");
    const config = await put("config", { "containerd.io/gc.ref.content/extra": extra });
    const manifest = await put("manifest", {
      "containerd.io/gc.ref.content.config": config,
      "containerd.io/gc.ref.content.l.0": layer0,
      "containerd.io/gc.ref.content.l.1": layer1,
    });
    const decoy = await put("decoy");
    await put("holder", { "containerd.io/gc.ref.contentx": decoy }); // not a reference key
    await fx.db.update((tx) => tx.putRecord(images, ns, "docker.io/library/test:latest", { target: manifest }));

    const stats = await fx.db.garbageCollect();
    for (const d of [manifest, config, layer0, layer1, extra]) {
      expect(await visible(d)).toBe(true);
      expect(await onDisk(d)).toBe(true);
    }
    expect(await visible(decoy)).toBe(false);
    expect(stats.removed.content).toBe(2);

    await fx.db.update((tx) => tx.deleteRecord(images, ns, "docker.io/library/test:latest"));
    await fx.db.garbageCollect();
    for (const d of [manifest, config, layer0, layer1, extra]) expect(await onDisk(d)).toBe(false);
  });

  it("follows gc.ref labels of image records", async () => {
    const target = await put("target");
    const sig = await put("signature");
    await fx.db.update((tx) =>
      tx.putRecord(images, ns, "img", { target, labels: { "containerd.io/gc.ref.content.sig": sig } }),
    );
    await fx.db.garbageCollect();
    expect(await visible(sig)).toBe(true);
  });

  it("keeps blobs labelled containerd.io/gc.root", async () => {
    const root = await put("root", { "containerd.io/gc.root": new Date().toISOString() });
    await fx.db.garbageCollect();
    expect(await visible(root)).toBe(true);
  });

  it("keeps what a lease holds until the lease is deleted", async () => {
    const l = await fx.db.leaseManager().create(ctx, { id: "hold" });
    const dgst = await put("leased", undefined, l.id);
    await fx.db.garbageCollect();
    expect(await visible(dgst)).toBe(true);
    await fx.db.leaseManager().delete(ctx, l);
    await fx.db.garbageCollect();
    expect(await visible(dgst)).toBe(false);
    expect(await onDisk(dgst)).toBe(false);
  });

  it("releases the resources of a lease whose gc.expire has passed, and removes the lease", async () => {
    const leases = fx.db.leaseManager();
    await leases.create(ctx, { id: "expired", labels: expirationLabels(-60_000) });
    await leases.create(ctx, { id: "future", labels: expirationLabels(3_600_000) });
    await leases.create(ctx, { id: "garbled", labels: { "containerd.io/gc.expire": "not a time" } });
    const gone = await put("expired-blob", undefined, "expired");
    const kept = await put("future-blob", undefined, "future");
    const garbled = await put("garbled-blob", undefined, "garbled");
    const stats = await fx.db.garbageCollect();
    expect(stats.removed.leases).toBe(1);
    expect((await leases.list(ctx)).map((l) => l.id)).toEqual(["future", "garbled"]);
    expect(await visible(gone)).toBe(false);
    expect(await onDisk(gone)).toBe(false);
    expect(await visible(kept)).toBe(true);
    expect(await visible(garbled)).toBe(true);
  });

  it("removes stale expired ingests and keeps fresh ones", async () => {
    const cs = fx.db.contentStore();
    for (const ref of ["stale", "fresh"]) {
      const w = await cs.writer(ctx, { ref });
      await w.write(new Uint8Array([1, 2, 3]));
      await w.close();
    }
    await fx.db.update(async (tx) => {
      const r = await tx.getJson<IngestRecord>(keys.ingest(ns, "stale"));
      tx.putJson(keys.ingest(ns, "stale"), { ...r, expireAt: new Date(Date.now() - 1000).toISOString() });
    });
    const stats = await fx.db.garbageCollect();
    expect(stats.removed.ingests).toBe(1);
    expect(stats.removed.backendIngests).toBe(1);
    expect((await cs.listStatuses(ctx)).map((s) => s.ref)).toEqual(["fresh"]);
    expect((await fx.backend.listStatuses(background())).map((s) => s.ref)).toEqual([`${ns}/2/fresh`]);
  });

  it("keeps a leased ingest and collects it with its lease", async () => {
    const cs = fx.db.contentStore();
    await fx.db.leaseManager().create(ctx, { id: "l" });
    const w = await cs.writer(nsCtx(ns, "l"), { ref: "leased-ingest" });
    await w.write(new Uint8Array([1]));
    await w.close();
    await fx.db.garbageCollect();
    expect((await cs.listStatuses(ctx)).length).toBe(1);
    await fx.db.leaseManager().delete(ctx, { id: "l" });
    await fx.db.garbageCollect();
    expect(await cs.listStatuses(ctx)).toEqual([]);
    expect(await fx.backend.listStatuses(background())).toEqual([]);
  });

  it("keeps a blob a shared ingest expects, even when its own namespace drops it", async () => {
    const { bytes, dgst } = blob("expected elsewhere");
    await writeBlob(fx.db.contentStore(), nsCtx("a"), "x", bytes, { expected: dgst });
    const w = await fx.db.contentStore().writer(nsCtx("b"), { ref: "y", expected: dgst });
    expect(w.offset).toBe(bytes.byteLength);
    await fx.db.garbageCollect();
    expect(await visible(dgst, "a")).toBe(false);
    expect(await onDisk(dgst)).toBe(true);
    await w.commit(bytes.byteLength, dgst, { labels: { "containerd.io/gc.root": "x" } });
    expect(await visible(dgst, "b")).toBe(true);
  });

  it("does not follow references from a flat lease", async () => {
    const leases = fx.db.leaseManager();
    await leases.create(ctx, { id: "flat", labels: { "containerd.io/gc.flat": "" } });
    const child = await put("child");
    const parent = await put("parent", { "containerd.io/gc.ref.content": child });
    await leases.addResource(ctx, { id: "flat" }, { id: parent, type: "content" });
    await fx.db.garbageCollect();
    expect(await visible(parent)).toBe(true);
    expect(await visible(child)).toBe(false);

    await leases.create(ctx, { id: "deep" });
    const child2 = await put("child2");
    const parent2 = await put("parent2", { "containerd.io/gc.ref.content": child2 });
    await leases.addResource(ctx, { id: "deep" }, { id: parent2, type: "content" });
    await fx.db.garbageCollect();
    expect(await visible(child2)).toBe(true);
  });

  describe("object records and snapshotter collectors", () => {
    it("keeps snapshots reachable from containers, parents, labels and leases; removes the rest through the collector", async () => {
      const backendKeys = new Set(["b-base", "b-mid", "b-top", "b-orphan", "b-labelled", "b-leased", "b-leased-parent", "b-root", "b-unknown"]);
      const removedKeys: string[] = [];
      fx.db.registerSnapshotterCollector("overlayfs", {
        listKeys: async () => [...backendKeys],
        remove: async (keysToRemove) => {
          for (const k of keysToRemove) {
            backendKeys.delete(k);
            removedKeys.push(k);
          }
        },
      });
      const layerBlob = await put("uncompressed-ref");
      await fx.db.update(async (tx) => {
        await tx.putRecord(overlay, ns, "base", { backend: "b-base", labels: { "containerd.io/gc.ref.content.x": layerBlob } });
        await tx.putRecord(overlay, ns, "mid", { backend: "b-mid", parent: "base" });
        await tx.putRecord(overlay, ns, "top", { backend: "b-top", parent: "mid" });
        await tx.putRecord(overlay, ns, "orphan", { backend: "b-orphan" });
        await tx.putRecord(overlay, ns, "labelled", { backend: "b-labelled" });
        await tx.putRecord(overlay, ns, "leased-parent", { backend: "b-leased-parent" });
        await tx.putRecord(overlay, ns, "leased", { backend: "b-leased", parent: "leased-parent" });
        await tx.putRecord(overlay, ns, "root", { backend: "b-root", labels: { "containerd.io/gc.root": "x" } });
        await tx.putRecord(containers, ns, "c1", { snapshotter: "overlayfs", snapshotKey: "top" });
      });
      const config = await put("config", { "containerd.io/gc.ref.snapshot.overlayfs/layer": "labelled" });
      await fx.db.update((tx) => tx.putRecord(images, ns, "img", { target: config }));
      const leases = fx.db.leaseManager();
      await leases.create(ctx, { id: "l", labels: { "containerd.io/gc.flat": "1" } });
      await leases.addResource(ctx, { id: "l" }, { id: "leased", type: "snapshots/overlayfs" });

      const stats = await fx.db.garbageCollect();
      expect(stats.removed.objects).toEqual({ "snapshots/overlayfs": 1 });
      expect(removedKeys.sort()).toEqual(["b-orphan", "b-unknown"]);
      expect(stats.removed.snapshots).toEqual({ overlayfs: 2 });
      const left = await fx.db.view(async (tx) => {
        const out: string[] = [];
        for await (const [id] of tx.listRecords(overlay, ns)) out.push(id);
        return out;
      });
      expect(left).toEqual(["base", "labelled", "leased", "leased-parent", "mid", "root", "top"]);
      expect(await visible(layerBlob)).toBe(true);

      // Dropping the container releases the chain (and the blob its base referenced).
      await fx.db.update((tx) => tx.deleteRecord(containers, ns, "c1"));
      await fx.db.garbageCollect();
      expect(removedKeys.sort()).toEqual(["b-base", "b-mid", "b-orphan", "b-top", "b-unknown"]);
      expect(await visible(layerBlob)).toBe(false);
    });

    it("hands removed backend keys to a collector without listKeys", async () => {
      const removed: string[] = [];
      fx.db.registerSnapshotterCollector("native", { remove: async (k) => void removed.push(...k) });
      const native = snapshots("native");
      await fx.db.update(async (tx) => {
        await tx.putRecord(native, ns, "gone", { backend: "n-1" });
        await tx.putRecord(native, ns, "kept", { backend: "n-2", labels: { "containerd.io/gc.root": "" } });
      });
      await fx.db.garbageCollect();
      expect(removed).toEqual(["n-1"]);
    });

    it("stores a record's GC edges when it is written", async () => {
      const target = await put("edges");
      await fx.db.update((tx) => tx.putRecord(images, ns, "i", { target }));
      expect(await fx.db.view((tx) => tx.getRecord(images, ns, "i"))).toEqual({ target });
      const stored = await fx.db.view((tx) => tx.getJson<{ gc: unknown }>(keys.object(ns, "images", "i")));
      expect(stored?.gc).toEqual({ root: true, content: [target] });
    });
  });

  it("never removes what is reachable while writers race the collector", async () => {
    const cs = fx.db.contentStore();
    const leases = fx.db.leaseManager();
    await leases.create(ctx, { id: "race" });
    const kept: Digest[] = [];
    const writers = (async () => {
      for (let i = 0; i < 40; i++) {
        const b = blob(`race-${i}`);
        // Alternate: under the lease, or referenced by an image record, or a root label.
        if (i % 3 === 0) {
          await writeBlob(cs, nsCtx(ns, "race"), `r${i}`, b.bytes, { expected: b.dgst });
        } else if (i % 3 === 1) {
          await writeBlob(cs, nsCtx(ns, "race"), `r${i}`, b.bytes, { expected: b.dgst });
          await fx.db.update((tx) => tx.putRecord(images, ns, `img-${i}`, { target: b.dgst }));
        } else {
          await writeBlob(cs, ctx, `r${i}`, b.bytes, { expected: b.dgst, labels: { "containerd.io/gc.root": "x" } });
        }
        kept.push(b.dgst);
        // Garbage alongside.
        await put(`garbage-${i}`);
      }
    })();
    const collections = (async () => {
      for (let i = 0; i < 15; i++) await fx.db.garbageCollect();
    })();
    await Promise.all([writers, collections]);
    await fx.db.garbageCollect();
    for (const d of kept) {
      expect(await visible(d)).toBe(true);
      expect(await onDisk(d)).toBe(true);
    }
    const all: string[] = [];
    await cs.walk(ctx, (i) => void all.push(i.digest));
    expect(all.sort()).toEqual([...kept].sort());
  });

  it("does not block reads while waiting for the write lock, nor reads and writes during the backend phase", async () => {
    const dgst = await put("readable", { "containerd.io/gc.root": "x" });
    // 1. An update holds the write lock; the collection queues behind it; reads go on.
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    const blocker = fx.db.update(() => gate);
    const gc1 = fx.db.garbageCollect();
    expect((await fx.db.contentStore().info(ctx, dgst)).digest).toBe(dgst);
    expect(await fx.db.view((tx) => tx.namespaceExists(ns))).toBe(true);
    openGate();
    await Promise.all([blocker, gc1]);

    // 2. A snapshotter collector that hangs: the metadata sweep is done, the write lock is free.
    let releaseCollector!: () => void;
    const collectorGate = new Promise<void>((r) => (releaseCollector = r));
    let collecting!: () => void;
    const inCollector = new Promise<void>((r) => (collecting = r));
    fx.db.registerSnapshotterCollector("slow", {
      remove: async () => {
        collecting();
        await collectorGate;
      },
    });
    const slow = snapshots("slow");
    await fx.db.update((tx) => tx.putRecord(slow, ns, "doomed", { backend: "s-1" }));
    const gc2 = fx.db.garbageCollect();
    await inCollector;
    expect((await fx.db.contentStore().info(ctx, dgst)).size).toBeGreaterThan(0);
    await fx.db.leaseManager().create(ctx, { id: "during-gc" });
    expect((await fx.db.leaseManager().list(ctx)).map((l) => l.id)).toEqual(["during-gc"]);
    releaseCollector();
    expect((await gc2).removed.snapshots).toEqual({ slow: 1 });
  });
});
