import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryLevel } from "memory-level";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kindOf } from "@containerts/errdefs";
import { background, withLease, withNamespace, type Context } from "@containerts/namespaces";
import type { Snapshotter, SnapshotInfo } from "@containerts/snapshots";
import { NativeSnapshotter } from "@containerts/snapshots/native";
import { OverlaySnapshotter } from "@containerts/snapshots/overlay";
import { escapeRegExp, snapshotterSuite } from "@containerts/snapshots/testsuite";

import { DB } from "./db.js";
import type { MetadataSnapshotter } from "./snapshots.js";

// One in-memory database per location, so that reopening a root sees what was written before.
const databases = new Map<string, MemoryLevel<string, string>>();
const level = (location: string): MemoryLevel<string, string> => {
  let db = databases.get(location);
  if (db === undefined) {
    db = new MemoryLevel<string, string>();
    databases.set(location, db);
  }
  return db;
};

const SUITE_NS = "testsuite";

/** The snapshotter seen from one namespace (the suite's contexts carry none); closing it closes the DB too. */
function inNamespace(s: Snapshotter, ns: string, db: DB): Snapshotter {
  const c = (ctx: Context) => withNamespace(ctx, ns);
  return {
    stat: (ctx, key) => s.stat(c(ctx), key),
    update: (ctx, info, paths) => s.update(c(ctx), info, paths),
    usage: (ctx, key) => s.usage(c(ctx), key),
    mounts: (ctx, key) => s.mounts(c(ctx), key),
    prepare: (ctx, key, parent, o) => s.prepare(c(ctx), key, parent, o),
    view: (ctx, key, parent, o) => s.view(c(ctx), key, parent, o),
    commit: (ctx, name, key, o) => s.commit(c(ctx), name, key, o),
    remove: (ctx, key) => s.remove(c(ctx), key),
    walk: (ctx, fn, filters) => s.walk(c(ctx), fn, filters),
    cleanup: (ctx) => s.cleanup(c(ctx)),
    close: async () => {
      await s.close();
      await db.close();
    },
  };
}

const backendKeyPattern = (key: string) => `${SUITE_NS}/\\d+/${escapeRegExp(key)}`;

snapshotterSuite(
  "metadata over overlayfs",
  async (root) => {
    // As the daemon registers it: asynchronous removal, directories reclaimed by cleanup.
    const backend = await OverlaySnapshotter.open({ root: join(root, "overlayfs"), openDatabase: level, asyncRemove: true });
    const db = await DB.open(level(join(root, "meta")));
    return inNamespace(db.snapshotter("overlayfs", backend), SUITE_NS, db);
  },
  { snapshotsDir: (root) => join(root, "overlayfs", "snapshots"), backendKeyPattern },
);

snapshotterSuite(
  "metadata over native",
  async (root) => {
    const backend = await NativeSnapshotter.open({ root: join(root, "native"), openDatabase: level });
    const db = await DB.open(level(join(root, "meta")));
    return inNamespace(db.snapshotter("native", backend), SUITE_NS, db);
  },
  { snapshotsDir: (root) => join(root, "native", "snapshots"), backendKeyPattern, deepLayers: 16 },
);

async function failure(p: Promise<unknown>): Promise<Error & { kind?: string }> {
  const outcome = await p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.v)}`);
  return outcome.e as Error;
}

async function names(s: Snapshotter, ctx: Context, filters?: string[]): Promise<string[]> {
  const out: string[] = [];
  await s.walk(ctx, (i) => {
    out.push(i.name);
  }, filters);
  return out;
}

describe("MetadataSnapshotter specifics", () => {
  const ns = withNamespace(background(), "ns1");
  const other = withNamespace(background(), "ns2");
  const gcRoot = { "containerd.io/gc.root": "test" };
  let tmp = "";
  let db: DB;
  let backend: OverlaySnapshotter;
  let s: MetadataSnapshotter;
  let closed: Array<() => Promise<void>> = [];

  const open = async (options: { upperdirLabel?: boolean } = {}) => {
    backend = await OverlaySnapshotter.open({
      root: join(tmp, "overlayfs"),
      openDatabase: () => new MemoryLevel<string, string>(),
      asyncRemove: true,
      ...options,
    });
    db = await DB.open(new MemoryLevel<string, string>());
    s = db.snapshotter("overlayfs", backend);
    closed.push(async () => {
      await s.close();
      await db.close();
    });
  };

  const backendNames = async (): Promise<string[]> => {
    const out: string[] = [];
    await backend.walk(background(), (i) => {
      out.push(i.name);
    });
    return out.sort();
  };

  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), "containerts-metadata-snapshots-"));
  });

  afterEach(async () => {
    for (const c of closed) await c();
    closed = [];
    await rm(tmp, { recursive: true, force: true });
  });

  it("keeps one key space per namespace over backend keys <ns>/<seq>/<key>", async () => {
    await open();
    await s.prepare(ns, "k", undefined, { labels: gcRoot });
    await s.prepare(other, "k", undefined, { labels: gcRoot });
    await s.prepare(ns, "with space/and slash", undefined, { labels: gcRoot });
    expect(await backendNames()).toEqual(["ns1/1/k", "ns1/2/with space/and slash", "ns2/1/k"]);
    expect(await names(s, ns)).toEqual(["k", "with space/and slash"]);
    await s.commit(other, "c", "k");
    expect((await failure(s.stat(other, "k"))).message).toBe("snapshot k does not exist: not found");
    expect((await s.stat(ns, "k")).kind).toBe("active");
    expect(await backendNames()).toEqual(["ns1/1/k", "ns1/2/with space/and slash", "ns2/2/c"]);
    const noNs = await failure(s.stat(background(), "k"));
    expect(kindOf(noNs)).toBe("FailedPrecondition");
    expect(noNs.message).toBe("namespace is required: failed precondition");
  });

  it("passes only containerd.io/snapshot/* and snapshot.ref labels to the backend, merges the backend's", async () => {
    await open({ upperdirLabel: true });
    const labels = { a: "1", "containerd.io/snapshot/x": "y", "containerd.io/snapshot.ref": "t", empty: "" };
    await s.prepare(ns, "k", undefined, { labels });
    const inBackend = await backend.stat(background(), "ns1/1/k");
    const upper = join(tmp, "overlayfs", "snapshots", "1", "fs");
    expect(inBackend.labels).toEqual({
      "containerd.io/snapshot/x": "y",
      "containerd.io/snapshot.ref": "t",
      "containerd.io/snapshot/overlay.upperdir": upper,
    });
    const info = await s.stat(ns, "k");
    expect(info.labels).toEqual({ a: "1", "containerd.io/snapshot/x": "y", "containerd.io/snapshot.ref": "t", "containerd.io/snapshot/overlay.upperdir": upper });
    const updated = await s.update(ns, { name: "k", labels: { b: "2", "containerd.io/snapshot/x": "" } }, ["labels.b", "labels.containerd.io/snapshot/x"]);
    expect(updated.labels).toEqual({ a: "1", b: "2", "containerd.io/snapshot.ref": "t", "containerd.io/snapshot/overlay.upperdir": upper });
    expect((await backend.stat(background(), "ns1/1/k")).labels).toEqual({
      "containerd.io/snapshot.ref": "t",
      "containerd.io/snapshot/overlay.upperdir": upper,
    });
    const tooBig = await failure(s.prepare(ns, "big", undefined, { labels: { key: "v".repeat(5000) } }));
    expect(kindOf(tooBig)).toBe("InvalidArgument");
    expect(tooBig.message).toBe("info.Labels: label key and value greater than maximum size (4096 bytes), key: key: invalid argument");
    const badPath = await failure(s.update(ns, { name: "k", labels: {} }, ["parent"]));
    expect(badPath.message).toBe('cannot update "parent" field on snapshot "k": invalid argument');
  });

  it("refuses a prepare whose containerd.io/snapshot.ref target exists", async () => {
    await open();
    await s.prepare(ns, "a", undefined);
    await s.commit(ns, "target", "a");
    const err = await failure(s.prepare(ns, "extract-1", "target", { labels: { "containerd.io/snapshot.ref": "target" } }));
    expect(kindOf(err)).toBe("AlreadyExists");
    expect(err.message).toBe('target snapshot "target": already exists');
    expect((await failure(s.prepare(ns, "target", undefined))).message).toBe('snapshot "target": already exists');
    expect(await names(s, ns)).toEqual(["target"]);
  });

  it("reports backend errors with backend keys, as containerd does", async () => {
    await open();
    await s.prepare(ns, "a", undefined);
    await s.view(ns, "v", undefined);
    expect((await failure(s.prepare(ns, "x", "a"))).message).toBe('parent "ns1/1/a" is not committed snapshot: invalid argument');
    expect((await failure(s.commit(ns, "c", "v"))).message).toBe('snapshot "ns1/2/v" is not active: failed precondition');
    // Failed calls consume sequence numbers too (containerd hands them out before the backend works).
    await s.commit(ns, "c", "a");
    expect((await failure(s.mounts(ns, "c"))).message).toBe("requested snapshot ns1/5/c not active or view: failed precondition");
    expect((await failure(s.prepare(ns, "x", "missing"))).message).toBe("parent snapshot missing does not exist: not found");
    expect((await failure(s.commit(ns, "c", "v"))).message).toBe('snapshot "c": already exists');
    expect((await failure(s.commit(ns, "d", "missing"))).message).toBe("snapshot missing does not exist: not found");
  });

  it("adds what it creates to the context's lease and fails NotFound for a missing lease", async () => {
    await open();
    const leases = db.leaseManager();
    const lease = await leases.create(ns, { id: "l1" });
    const lctx = withLease(ns, lease.id);
    await s.prepare(lctx, "active", undefined);
    await s.view(lctx, "view", undefined);
    expect(await leases.listResources(ns, lease)).toEqual([
      { id: "active", type: "snapshots/overlayfs" },
      { id: "view", type: "snapshots/overlayfs" },
    ]);
    await s.commit(lctx, "committed", "active");
    expect(await leases.listResources(ns, lease)).toEqual([
      { id: "committed", type: "snapshots/overlayfs" },
      { id: "view", type: "snapshots/overlayfs" },
    ]);
    await s.remove(lctx, "view");
    expect(await leases.listResources(ns, lease)).toEqual([{ id: "committed", type: "snapshots/overlayfs" }]);

    const missing = withLease(ns, "no-such-lease");
    for (const p of [s.prepare(missing, "x", undefined), s.view(missing, "y", "committed")]) {
      const err = await failure(p);
      expect(kindOf(err)).toBe("NotFound");
      expect(err.message).toBe("lease does not exist: not found");
    }
    await s.prepare(ns, "a2", "committed");
    expect((await failure(s.commit(missing, "c2", "a2"))).message).toBe("lease does not exist: not found");
    expect(await names(s, ns)).toEqual(["a2", "committed"]);
    // The failed calls left nothing in the backend.
    expect((await backendNames()).length).toBe(3); // committed, view (until collected), a2
  });

  it("removes only the record; a collection removes the backend snapshot, keeping gc roots and their parents", async () => {
    await open();
    await s.prepare(ns, "base-a", undefined);
    await s.commit(ns, "base", "base-a");
    await s.prepare(ns, "kept", "base", { labels: gcRoot });
    await s.prepare(ns, "unreferenced", undefined);
    await s.prepare(ns, "removed", undefined, { labels: gcRoot });
    await s.remove(ns, "removed");
    expect(db.dirty).toBe(true);
    expect(await backendNames()).toEqual(["ns1/2/base", "ns1/3/kept", "ns1/4/unreferenced", "ns1/5/removed"]);
    const stats = await db.garbageCollect();
    expect(stats.backendErrors).toEqual([]);
    expect(stats.removed.objects).toEqual({ "snapshots/overlayfs": 1 });
    expect(stats.removed.snapshots).toEqual({ overlayfs: 2 });
    expect(await names(s, ns)).toEqual(["base", "kept"]);
    expect(await backendNames()).toEqual(["ns1/2/base", "ns1/3/kept"]);
    // Asynchronous removal: the directories went with the backend's cleanup.
    expect((await readdir(join(tmp, "overlayfs", "snapshots"))).sort()).toEqual(["1", "2"]);
    // The parent can go once its last child went, even though the collection removed a child earlier.
    await s.remove(ns, "kept");
    await s.remove(ns, "base");
    await db.garbageCollect();
    expect(await backendNames()).toEqual([]);
  });

  it("lets a parent go after the collector removed its child (no stale child link)", async () => {
    await open();
    await s.prepare(ns, "p-a", undefined);
    await s.commit(ns, "p", "p-a", { labels: gcRoot });
    await s.prepare(ns, "child", "p");
    expect(kindOf(await failure(s.remove(ns, "p")))).toBe("FailedPrecondition");
    await db.garbageCollect();
    expect(await names(s, ns)).toEqual(["p"]);
    // A new snapshot with the old child's key on another parent does not pin p either.
    await s.prepare(ns, "child", undefined, { labels: gcRoot });
    await s.remove(ns, "p");
  });

  it("refuses to delete a namespace that holds snapshots", async () => {
    await open();
    await s.prepare(ns, "k", undefined);
    const nsStore = db.namespaceStore();
    const err = await failure(nsStore.delete(background(), "ns1"));
    expect(kindOf(err)).toBe("FailedPrecondition");
    expect(err.message).toBe('namespace "ns1" must be empty, but it still has snapshots on "overlayfs" snapshotter: failed precondition');
    await s.remove(ns, "k");
    await nsStore.delete(background(), "ns1");
    // A namespace created again keeps handing out fresh backend keys.
    await s.prepare(ns, "k", undefined);
    expect(await backendNames()).toEqual(["ns1/1/k", "ns1/2/k"]);
  });

  it("retries with a new sequence when the backend holds a leftover key", async () => {
    await open();
    await backend.prepare(background(), "ns1/1/k", undefined);
    await s.prepare(ns, "k", undefined);
    expect((await s.stat(ns, "k")).kind).toBe("active");
    expect(await backendNames()).toEqual(["ns1/1/k", "ns1/2/k"]);
    await s.cleanup(ns);
    expect(await backendNames()).toEqual(["ns1/2/k"]);
  });

  it("walks more than one batch, in key order, with filters", async () => {
    await open();
    const keys = Array.from({ length: 230 }, (_, i) => `k${String(i).padStart(3, "0")}`);
    for (const k of keys) await s.view(ns, k, undefined, { labels: Number(k.slice(1)) % 2 === 0 ? { even: "yes" } : {} });
    expect(await names(s, ns)).toEqual(keys);
    expect(await names(s, ns, ["labels.even==yes"])).toEqual(keys.filter((_, i) => i % 2 === 0));
    expect(await names(s, ns, ["kind==view,name~=^k1"])).toEqual(keys.filter((k) => k.startsWith("k1")));
    const seen: SnapshotInfo[] = [];
    await s.walk(ns, (i) => {
      seen.push(i);
    }, ['name=="k007"']);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ name: "k007", kind: "view", labels: {} });
    expect(seen[0]?.parent).toBeUndefined();
    expect(kindOf(await failure(s.walk(ns, () => undefined, ["name=="])))).toBe("InvalidArgument");
  });

  it("records usage at commit and measures active snapshots through the backend", async () => {
    await open();
    await s.prepare(ns, "a", undefined);
    const u = await s.usage(ns, "a");
    expect(u.inodes).toBe(1);
    await s.commit(ns, "c", "a");
    expect(await s.usage(ns, "c")).toEqual(u);
    await s.view(ns, "v", "c");
    expect(await s.usage(ns, "v")).toEqual({ size: 0, inodes: 0 });
    expect((await failure(s.usage(ns, "missing"))).message).toBe("snapshot missing does not exist: not found");
  });
});
