/**
 * The snapshotter conformance suite (containerd's `snapshots/testsuite`), as vitest `describe`/`it`
 * blocks. Every {@link Snapshotter} implementation runs it:
 *
 * ```ts
 * snapshotterSuite("overlayfs", (root) => OverlaySnapshotter.open({ root, openDatabase }));
 * ```
 *
 * The cases mount what the snapshotter returns (with `@containerts/sys`'s `mountAll`), so they need root
 * and a kernel that can mount the snapshotter's mount types. Each case gets a fresh temporary directory
 * holding the snapshotter root and a work area; everything mounted under it is unmounted and the
 * directory removed after the case, pass or fail, and a last case checks that no mount is left.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { kindOf, type ErrorKind } from "@containerts/errdefs";
import { background, type Context } from "@containerts/namespaces";
import { MNT, mountAll, mountsUnder, readMountInfo, unmountAll } from "@containerts/sys";
import type { Mount, SnapshotInfo, Snapshotter } from "../snapshotter.js";

/**
 * Opens a snapshotter rooted at `root`. Called again with the same root (after the first instance was
 * closed), it must open the same store: records written before must be visible (the crash-recovery case
 * relies on it).
 */
export type SnapshotterFactory = (root: string) => Promise<Snapshotter>;

/** Options of {@link snapshotterSuite}. */
export interface SnapshotterSuiteOptions {
  /** Where the implementation keeps its per-snapshot directories. Default: `<root>/snapshots`. */
  readonly snapshotsDir?: (root: string) => string;
  /** Layers in the deep-chain case. Default 64. */
  readonly deepLayers?: number;
  /**
   * The regular-expression source matching how the implementation names `key` in the errors its backend
   * raises (not committed parent, commit of a view, mounts of a committed snapshot). Default: the key
   * itself. containerd's metadata snapshotter reports backend keys, `<ns>/<seq>/<key>`:
   * `(key) => \`[^/]+/\\d+/${escapeRegExp(key)}\``.
   */
  readonly backendKeyPattern?: (key: string) => string;
}

/** Escapes `s` for use inside a regular expression. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** What the after-each hook cleans: the case's temp dir and every snapshotter opened in it. */
interface CaseResources {
  readonly tmp: string;
  readonly opened: Snapshotter[];
}

interface CaseState extends CaseResources {
  readonly root: string;
  readonly work: string;
  readonly snapshotter: Snapshotter;
}

const GC_ROOT = { "containerd.io/gc.root": "testsuite" };

/** Registers the conformance cases for one snapshotter implementation. */
export function snapshotterSuite(name: string, factory: SnapshotterFactory, options: SnapshotterSuiteOptions = {}): void {
  const snapshotsDir = options.snapshotsDir ?? ((root: string) => join(root, "snapshots"));
  const deepLayers = options.deepLayers ?? 64;
  const keyPattern = options.backendKeyPattern ?? escapeRegExp;
  /** The exact message `before<key>after`, with the key as the implementation's backend names it. */
  const backendMessage = (before: string, key: string, after: string): RegExp =>
    new RegExp(`^${escapeRegExp(before)}${keyPattern(key)}${escapeRegExp(after)}$`);

  describe(`snapshotter suite: ${name}`, () => {
    let suiteRoot = "";
    let current: CaseResources | undefined;
    const ctx: Context = background();

    beforeAll(async () => {
      suiteRoot = await mkdtemp(join(tmpdir(), `containerts-snapshots-${name.replace(/[^A-Za-z0-9_-]/g, "_")}-`));
    });

    afterEach(async () => {
      const c = current;
      current = undefined;
      if (c === undefined) return;
      unmountEverythingUnder(c.tmp);
      for (const s of c.opened) await s.close().catch(() => undefined);
      await rm(c.tmp, { recursive: true, force: true });
    });

    afterAll(async () => {
      if (suiteRoot === "") return;
      unmountEverythingUnder(suiteRoot);
      await rm(suiteRoot, { recursive: true, force: true });
    });

    /** Creates the case's temp dir and opens a snapshotter in it (closed and removed after the case). */
    async function setup(): Promise<CaseState> {
      const tmp = await mkdtemp(join(suiteRoot, "case-"));
      const root = join(tmp, "root");
      const work = join(tmp, "work");
      const opened: Snapshotter[] = [];
      current = { tmp, opened };
      await mkdir(root, { recursive: true });
      await mkdir(work, { recursive: true });
      const snapshotter = await factory(root);
      opened.push(snapshotter);
      return { tmp, root, work, opened, snapshotter };
    }

    /** Mounts `mounts` on a fresh directory `work/<dir>` and returns its path. */
    async function mountAt(c: CaseState, mounts: readonly Mount[], dir: string): Promise<string> {
      const target = join(c.work, dir);
      await mkdir(target, { recursive: true });
      mountAll(mounts, target);
      return target;
    }

    /** Prepares `key` on `parent`, mounts it, runs `write` in it, unmounts and commits it as `name`. */
    async function layer(
      c: CaseState,
      key: string,
      name: string,
      parent: string | undefined,
      write: (dir: string) => Promise<void>,
    ): Promise<void> {
      const s = c.snapshotter;
      const target = await mountAt(c, await s.prepare(ctx, key, parent, { labels: GC_ROOT }), `m-${key}`);
      try {
        await write(target);
      } finally {
        unmountAll(target);
      }
      await s.commit(ctx, name, key, { labels: GC_ROOT });
    }

    it("prepares, writes, commits, stats and walks a two-layer chain", async () => {
      const c = await setup();
      const s = c.snapshotter;

      await layer(c, "preparing", "committed", undefined, async (dir) => {
        await writeFile(join(dir, "foo"), "foo\n", { mode: 0o777 });
        await mkdir(join(dir, "a/b/c"), { recursive: true });
      });
      const si = await s.stat(ctx, "committed");
      expect(si.kind).toBe("committed");
      expect(si.parent).toBeUndefined();
      expect(si.name).toBe("committed");
      expect(stripUpperdir(si.labels)).toEqual(GC_ROOT);
      await expectError(s.stat(ctx, "preparing"), "NotFound", "snapshot preparing does not exist: not found");

      const next = await mountAt(c, await s.prepare(ctx, "next", "committed", { labels: GC_ROOT }), "next");
      expect(await snapshotTree(next)).toEqual(["a/", "a/b/", "a/b/c/", "foo=foo\n"]);
      await writeFile(join(next, "bar"), "bar\n");
      await writeFile(join(next, "foo"), "bar\n");
      await rm(join(next, "a/b"), { recursive: true });
      unmountAll(next);
      const ni = await s.stat(ctx, "next");
      expect(ni.parent).toBe("committed");
      expect(ni.kind).toBe("active");
      await s.commit(ctx, "committed-next", "next", { labels: GC_ROOT });
      const si2 = await s.stat(ctx, "committed-next");
      expect(si2.parent).toBe("committed");
      expect(si2.kind).toBe("committed");
      await expectError(s.stat(ctx, "next"), "NotFound");

      const walked = new Map<string, SnapshotInfo>();
      await s.walk(ctx, (info) => {
        walked.set(info.name, info);
      });
      expect(walked.get("committed")).toEqual(si);
      expect(walked.get("committed-next")).toEqual(si2);
      expect(walked.size).toBe(2);

      const view = await mountAt(c, await s.view(ctx, "view", "committed-next", { labels: GC_ROOT }), "view");
      expect(await snapshotTree(view)).toEqual(["a/", "bar=bar\n", "foo=bar\n"]);
      unmountAll(view);

      await s.remove(ctx, "view");
      await expectError(s.remove(ctx, "committed"), "FailedPrecondition", "cannot remove snapshot with child: failed precondition");
      await s.remove(ctx, "committed-next");
      await s.remove(ctx, "committed");
      const left: string[] = [];
      await s.walk(ctx, (info) => {
        left.push(info.name);
      });
      expect(left).toEqual([]);
    });

    it("mounts an active snapshot without parent as a writable 0755 root", async () => {
      const c = await setup();
      const s = c.snapshotter;
      const dir = await mountAt(c, await s.prepare(ctx, "a", undefined, { labels: GC_ROOT }), "a");
      expect((await stat(dir)).mode & 0o777).toBe(0o755);
      await writeFile(join(dir, "foo"), "foo\n");
      const info = await s.stat(ctx, "a");
      expect(info).toMatchObject({ name: "a", kind: "active" });
      expect(stripUpperdir(info.labels)).toEqual(GC_ROOT);
      expect(info.parent).toBeUndefined();
      expect(info.createdAt.getTime()).toBe(info.updatedAt.getTime());
    });

    it("keeps parent chains: A <- B <- C, nearest layer wins", async () => {
      const c = await setup();
      const s = c.snapshotter;
      await layer(c, "a-active", "A", undefined, async (d) => {
        await writeFile(join(d, "foo"), "A\n");
        await writeFile(join(d, "only-a"), "a\n");
      });
      await layer(c, "b-active", "B", "A", async (d) => {
        await writeFile(join(d, "foo"), "B\n");
        await writeFile(join(d, "only-b"), "b\n");
      });
      await layer(c, "c-active", "C", "B", async (d) => {
        await writeFile(join(d, "only-c"), "c\n");
      });
      expect((await s.stat(ctx, "A")).parent).toBeUndefined();
      expect((await s.stat(ctx, "B")).parent).toBe("A");
      const ci = await s.stat(ctx, "C");
      expect(ci.parent).toBe("B");
      expect((await s.stat(ctx, ci.parent ?? "")).parent).toBe("A");

      const top = await mountAt(c, await s.prepare(ctx, "top", "C"), "top");
      expect(await snapshotTree(top)).toEqual(["foo=B\n", "only-a=a\n", "only-b=b\n", "only-c=c\n"]);
      unmountAll(top);
      const view = await mountAt(c, await s.view(ctx, "top-view", "C"), "top-view");
      expect(await snapshotTree(view)).toEqual(["foo=B\n", "only-a=a\n", "only-b=b\n", "only-c=c\n"]);
    });

    it("refuses a key that exists, whatever its kind", async () => {
      const c = await setup();
      const s = c.snapshotter;
      await layer(c, "base-active", "base", undefined, async () => undefined);
      await s.prepare(ctx, "new", "base");
      await expectError(s.view(ctx, "new", "base"), "AlreadyExists", 'snapshot "new": already exists');
      await expectError(s.prepare(ctx, "new", "base"), "AlreadyExists");
      await s.view(ctx, "v", "base");
      await expectError(s.view(ctx, "v", "base"), "AlreadyExists", 'snapshot "v": already exists');
      await expectError(s.prepare(ctx, "base", undefined), "AlreadyExists", 'snapshot "base": already exists');
      await expectError(s.prepare(ctx, "", undefined), "InvalidArgument");
      await expectError(s.view(ctx, "", "base"), "InvalidArgument");
      await expectError(s.commit(ctx, "", "new"), "InvalidArgument");
    });

    it("checks parents: missing is NotFound, not committed is InvalidArgument", async () => {
      const c = await setup();
      const s = c.snapshotter;
      await expectError(s.prepare(ctx, "x", "missing"), "NotFound", "parent snapshot missing does not exist: not found");
      await expectError(s.view(ctx, "x", "missing"), "NotFound");
      await s.prepare(ctx, "active", undefined);
      await s.view(ctx, "view", undefined);
      await expectError(
        s.prepare(ctx, "x", "active"),
        "InvalidArgument",
        backendMessage('parent "', "active", '" is not committed snapshot: invalid argument'),
      );
      await expectError(s.view(ctx, "x", "view"), "InvalidArgument", backendMessage('parent "', "view", '" is not committed snapshot: invalid argument'));
      // Nothing was created by the failed calls.
      await expectError(s.stat(ctx, "x"), "NotFound");
      await s.prepare(ctx, "x", "");
    });

    it("commits only active snapshots, to names that are free", async () => {
      const c = await setup();
      const s = c.snapshotter;
      await layer(c, "base-active", "base", undefined, async () => undefined);
      await s.view(ctx, "view", "base");
      await expectError(s.commit(ctx, "c", "view"), "FailedPrecondition", backendMessage('snapshot "', "view", '" is not active: failed precondition'));
      await expectError(s.commit(ctx, "c", "base"), "FailedPrecondition");
      await expectError(s.commit(ctx, "c", "missing"), "NotFound", "snapshot missing does not exist: not found");
      await s.prepare(ctx, "active", "base", { labels: { keep: "no" } });
      await expectError(s.commit(ctx, "base", "active"), "AlreadyExists", 'snapshot "base": already exists');
      await s.commit(ctx, "c", "active", { labels: { l: "1", empty: "" } });
      const info = await s.stat(ctx, "c");
      expect(info).toMatchObject({ kind: "committed", parent: "base" });
      // Labels come from the commit only (no inheritance); empty values are dropped.
      expect(stripUpperdir(info.labels)).toEqual({ l: "1" });
      expect(info.createdAt.getTime()).toBe(info.updatedAt.getTime());
    });

    it("returns the same mounts from mounts() and refuses committed snapshots", async () => {
      const c = await setup();
      const s = c.snapshotter;
      const m0 = await s.prepare(ctx, "a0", undefined);
      expect(await s.mounts(ctx, "a0")).toEqual(m0);
      await s.commit(ctx, "c0", "a0");
      await expectError(s.mounts(ctx, "c0"), "FailedPrecondition", backendMessage("requested snapshot ", "c0", " not active or view: failed precondition"));
      await expectError(s.mounts(ctx, "missing"), "NotFound", "snapshot missing does not exist: not found");
      const m1 = await s.prepare(ctx, "a1", "c0");
      expect(await s.mounts(ctx, "a1")).toEqual(m1);
      await s.commit(ctx, "c1", "a1");
      for (const [key, parent] of [
        ["v-none", undefined],
        ["v-one", "c0"],
        ["v-two", "c1"],
      ] as const) {
        const m = await s.view(ctx, key, parent);
        expect(await s.mounts(ctx, key)).toEqual(m);
        for (const mount of m) {
          if (mount.type === "bind") expect(mount.source.startsWith("/")).toBe(true);
          for (const o of mount.options) {
            if (o.startsWith("lowerdir=")) for (const p of o.slice(9).split(":")) expect(p.startsWith("/")).toBe(true);
          }
        }
      }
      for (const m of [m0, m1]) {
        for (const mount of m) expect(mount.options.includes("rw") || mount.options.some((o) => o.startsWith("upperdir="))).toBe(true);
      }
    });

    it("removes snapshots: NotFound when absent, FailedPrecondition with children, keys reusable", async () => {
      const c = await setup();
      const s = c.snapshotter;
      await expectError(s.remove(ctx, "missing"), "NotFound", "snapshot missing does not exist: not found");
      await s.prepare(ctx, "committed-a", undefined, { labels: GC_ROOT });
      await s.commit(ctx, "committed-1", "committed-a", { labels: GC_ROOT });
      await s.prepare(ctx, "reuse-1", "committed-1", { labels: GC_ROOT });
      await expectError(s.remove(ctx, "committed-1"), "FailedPrecondition", "cannot remove snapshot with child: failed precondition");
      await s.remove(ctx, "reuse-1");
      await s.view(ctx, "reuse-1", "committed-1", { labels: GC_ROOT });
      await expectError(s.remove(ctx, "committed-1"), "FailedPrecondition");
      await s.remove(ctx, "reuse-1");
      await s.prepare(ctx, "reuse-1", undefined, { labels: GC_ROOT });
      await s.remove(ctx, "committed-1");
      await s.commit(ctx, "committed-1", "reuse-1", { labels: GC_ROOT });
      expect((await s.stat(ctx, "committed-1")).kind).toBe("committed");

      // Intermediate layers of a chain cannot go before their children.
      await s.prepare(ctx, "i-a", "committed-1");
      await s.commit(ctx, "inter", "i-a");
      await s.prepare(ctx, "top", "inter");
      await expectError(s.remove(ctx, "inter"), "FailedPrecondition");
      await s.remove(ctx, "top");
      await s.remove(ctx, "inter");
      await s.remove(ctx, "committed-1");
    });

    it("updates labels with containerd's field-path semantics", async () => {
      const c = await setup();
      const s = c.snapshotter;
      const t1 = Date.now();
      await s.prepare(ctx, "c1-a", undefined, { labels: GC_ROOT });
      await s.commit(ctx, "c1", "c1-a", { labels: GC_ROOT });
      await s.prepare(ctx, "c2-a", "c1", { labels: GC_ROOT });
      await s.commit(ctx, "c2", "c2-a", { labels: GC_ROOT });
      await s.prepare(ctx, "a1", "c2", { labels: GC_ROOT });
      await s.prepare(ctx, "a2", undefined, { labels: GC_ROOT });
      await s.view(ctx, "v1", "c2", { labels: GC_ROOT });
      await s.view(ctx, "v2", undefined, { labels: GC_ROOT });
      const t2 = Date.now();
      const cases = [
        { name: "c1", kind: "committed", parent: undefined },
        { name: "c2", kind: "committed", parent: "c1" },
        { name: "a1", kind: "active", parent: "c2" },
        { name: "a2", kind: "active", parent: undefined },
        { name: "v1", kind: "view", parent: "c2" },
        { name: "v2", kind: "view", parent: undefined },
      ] as const;
      for (const tc of cases) {
        let st = await s.stat(ctx, tc.name);
        expect(st.createdAt.getTime()).toBeGreaterThanOrEqual(t1);
        expect(st.createdAt.getTime()).toBeLessThanOrEqual(t2);
        expect(st.updatedAt.getTime()).toBe(st.createdAt.getTime());
        expect(st.kind).toBe(tc.kind);
        expect(st.parent).toBe(tc.parent);
        const createdAt = st.createdAt;

        let expected: Record<string, string> = { l1: "v1", l2: "v2", l3: "v3", ...GC_ROOT };
        const u1 = Date.now();
        st = await s.update(ctx, { ...st, parent: "doesnotexist", labels: expected });
        const u2 = Date.now();
        expect(st.createdAt.getTime()).toBe(createdAt.getTime());
        expect(st.updatedAt.getTime()).toBeGreaterThanOrEqual(u1);
        expect(st.updatedAt.getTime()).toBeLessThanOrEqual(u2);
        expect(st.kind).toBe(tc.kind);
        expect(st.parent).toBe(tc.parent);
        expect(stripUpperdir(st.labels)).toEqual(expected);

        expected = { l1: "updated", l3: "v3", ...GC_ROOT };
        st = await s.update(ctx, { ...st, labels: { l1: "updated", l4: "v4" } }, ["labels.l1", "labels.l2"]);
        expect(stripUpperdir(st.labels)).toEqual(expected);

        expected = { l4: "v4", ...GC_ROOT };
        st = await s.update(ctx, { ...st, labels: expected }, ["labels"]);
        expect(stripUpperdir(st.labels)).toEqual(expected);
        expect(stripUpperdir((await s.stat(ctx, tc.name)).labels)).toEqual(expected);

        await expectError(s.update(ctx, { ...st, parent: "doesnotexist" }, ["parent"]), "InvalidArgument");
      }
      await expectError(s.update(ctx, { name: "missing", labels: {} }), "NotFound", "snapshot missing does not exist: not found");
      await expectError(s.update(ctx, { name: "", labels: {} }), "InvalidArgument");
    });

    it("walks with filters on kind, name, parent and labels", async () => {
      const c = await setup();
      const s = c.snapshotter;
      const root = { "containerd.io/gc.root": "check-walk" };
      await s.prepare(ctx, "a-np", undefined, { labels: root });
      await s.prepare(ctx, "p-tmp", undefined, { labels: root });
      await s.commit(ctx, "p", "p-tmp", { labels: root });
      await s.prepare(ctx, "a", "p", { labels: root });
      await s.view(ctx, "v", "p", { labels: root });
      await s.prepare(ctx, "p-wl-tmp", undefined, { labels: root });
      await s.commit(ctx, "p-wl", "p-wl-tmp", { labels: { l: "1", ...root } });
      await s.prepare(ctx, "a-wl", "p-wl", { labels: { l: "2", ...root } });
      await s.view(ctx, "v-wl", "p-wl", { labels: { l: "3", ...root } });
      await s.prepare(ctx, "a-np-wl", undefined, { labels: { l: "2", ...root } });

      const table: Array<[string[], string[]]> = [
        [["a-np", "p", "a", "v", "p-wl", "a-wl", "v-wl", "a-np-wl"], ['labels."containerd.io/gc.root"==check-walk']],
        [["a-np", "a", "a-wl", "a-np-wl"], ['kind==active,labels."containerd.io/gc.root"==check-walk']],
        [["v", "v-wl"], ['kind==view,labels."containerd.io/gc.root"==check-walk']],
        [["p", "p-wl"], ['kind==committed,labels."containerd.io/gc.root"==check-walk']],
        [["p", "a-np-wl"], ["name==p", "name==a-np-wl"]],
        [["a-wl"], ["name==a-wl,labels.l"]],
        [["a", "v"], ["parent==p"]],
        [["a", "v", "a-wl", "v-wl"], ['parent!="",labels."containerd.io/gc.root"==check-walk']],
        [["p-wl", "a-wl", "v-wl", "a-np-wl"], ["labels.l"]],
        [["a-wl", "a-np-wl"], ["labels.l==2"]],
        [["a-np", "p", "a", "v", "p-wl", "a-wl", "v-wl", "a-np-wl"], [""]],
      ];
      for (const [matches, filters] of table) {
        const actual: string[] = [];
        await s.walk(ctx, (info) => {
          actual.push(info.name);
        }, filters);
        expect([...actual].sort(), filters.join(" | ")).toEqual([...matches].sort());
      }
      // Without filters, every snapshot, in lexical key order.
      const all: string[] = [];
      await s.walk(ctx, (info) => {
        all.push(info.name);
      });
      expect(all).toEqual([...all].sort());
      expect(all).toHaveLength(8);
      await expectError(s.walk(ctx, () => undefined, ["name=="]), "InvalidArgument");
      // An error thrown by the callback stops the walk and comes back.
      let calls = 0;
      await expect(
        s.walk(ctx, () => {
          calls++;
          throw new Error("stop");
        }),
      ).rejects.toThrow("stop");
      expect(calls).toBe(1);
    });

    it("mounts views read-only: writes fail (no parent, one parent, two parents)", async () => {
      const c = await setup();
      const s = c.snapshotter;
      await layer(c, "l1-a", "l1", undefined, async (d) => writeFile(join(d, "one"), "1"));
      await layer(c, "l2-a", "l2", "l1", async (d) => writeFile(join(d, "two"), "2"));
      for (const [key, parent, files] of [
        ["v0", undefined, []],
        ["v1", "l1", ["one=1"]],
        ["v2", "l2", ["one=1", "two=2"]],
      ] as const) {
        const dir = await mountAt(c, await s.view(ctx, key, parent), key);
        expect(await snapshotTree(dir)).toEqual(files);
        await expect(writeFile(join(dir, "testfile"), "testcontent")).rejects.toMatchObject({ code: "EROFS" });
        unmountAll(dir);
        await s.remove(ctx, key);
      }
      // The committed layers were not changed through the views.
      const top = await mountAt(c, await s.prepare(ctx, "check", "l2"), "check");
      expect(await snapshotTree(top)).toEqual(["one=1", "two=2"]);
    });

    it("reports usage: measured for active, recorded at commit, zero for views", async () => {
      const c = await setup();
      const s = c.snapshotter;
      const empty = await s.usage(ctx, await prepareOnly(s, "empty"));
      expect(empty.inodes).toBe(1);
      expect(empty.size).toBeGreaterThan(0);

      const dir = await mountAt(c, await s.prepare(ctx, "active", undefined), "active");
      await mkdir(join(dir, "data"));
      const chunk = Buffer.alloc(8192, 0x5a);
      for (let i = 0; i < 3; i++) await writeFile(join(dir, "data", `f${i}`), chunk);
      unmountAll(dir);
      const before = await s.usage(ctx, "active");
      expect(before.inodes).toBe(5); // root, data/, three files
      expect(before.size).toBeGreaterThanOrEqual(3 * 8192 + 2 * empty.size);
      expect(before.size).toBeLessThan(3 * 8192 + 2 * empty.size + 64 * 1024);
      await s.commit(ctx, "committed", "active");
      expect(await s.usage(ctx, "committed")).toEqual(before);

      await s.view(ctx, "view", "committed");
      expect(await s.usage(ctx, "view")).toEqual({ size: 0, inodes: 0 });
      await expectError(s.usage(ctx, "missing"), "NotFound", "snapshot missing does not exist: not found");
    });

    it(`stacks ${deepLayers} layers and mounts the top as view and as active`, async () => {
      const c = await setup();
      const s = c.snapshotter;
      let parent: string | undefined;
      for (let i = 0; i < deepLayers; i++) {
        const name = `layer-${i}`;
        await layer(c, `${name}-active`, name, parent, async (dir) => {
          expect((await readdir(dir)).length).toBe(i === 0 ? 0 : i + 1);
          await writeFile(join(dir, `file-${i}`), `layer ${i}\n`);
          await writeFile(join(dir, "overwriteme"), `${i} WAS HERE\n`);
        });
        parent = name;
      }
      const expected = [
        ...Array.from({ length: deepLayers }, (_, i) => `file-${i}=layer ${i}\n`),
        `overwriteme=${deepLayers - 1} WAS HERE\n`,
      ].sort();

      const view = await mountAt(c, await s.view(ctx, "fullview", parent), "fullview");
      expect(await snapshotTree(view)).toEqual(expected);
      unmountAll(view);

      const active = await mountAt(c, await s.prepare(ctx, "top", parent), "top");
      expect(await snapshotTree(active)).toEqual(expected);
      await writeFile(join(active, "new"), "new\n");
      expect(await readFile(join(active, "new"), "utf8")).toBe("new\n");
      unmountAll(active);
      // mounts() gives the same mountable result again.
      const again = await mountAt(c, await s.mounts(ctx, "top"), "top-again");
      expect(await snapshotTree(again)).toEqual([...expected, "new=new\n"].sort());
      unmountAll(again);
    });

    it("runs concurrent prepares: distinct keys all succeed, one key succeeds once", async () => {
      const c = await setup();
      const s = c.snapshotter;
      await s.prepare(ctx, "base-a", undefined);
      await s.commit(ctx, "base", "base-a");
      const distinct = await Promise.all(
        Array.from({ length: 20 }, (_, i) => s.prepare(ctx, `key-${i}`, i % 2 === 0 ? "base" : undefined)),
      );
      expect(distinct).toHaveLength(20);
      expect(new Set(distinct.map((m) => JSON.stringify(m))).size).toBe(20);

      const same = await Promise.allSettled(Array.from({ length: 20 }, () => s.prepare(ctx, "same", "base")));
      expect(same.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const failures = same.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(failures).toHaveLength(19);
      for (const f of failures) expect(kindOf(f.reason)).toBe("AlreadyExists");

      const keys: string[] = [];
      await s.walk(ctx, (info) => {
        keys.push(info.name);
      });
      expect(keys).toHaveLength(22);
      // No half-built directories are left behind.
      expect((await readdir(snapshotsDir(c.root))).filter((n) => n.startsWith("new-"))).toEqual([]);
    });

    it("cleanup removes directories no snapshot refers to", async () => {
      const c = await setup();
      const s = c.snapshotter;
      await layer(c, "keep-a", "keep", undefined, async (d) => writeFile(join(d, "kept"), "yes"));
      await s.prepare(ctx, "active", "keep");
      await s.prepare(ctx, "gone", undefined);
      await s.remove(ctx, "gone");
      const sd = snapshotsDir(c.root);
      await mkdir(join(sd, "999999", "fs"), { recursive: true });
      await writeFile(join(sd, "999999", "fs", "orphan"), "x");
      await mkdir(join(sd, "rm-424242"), { recursive: true });
      await s.cleanup(ctx);
      const entries = await readdir(sd);
      expect(entries).not.toContain("999999");
      expect(entries).not.toContain("rm-424242");
      expect(entries).toHaveLength(2); // keep and active
      const dir = await mountAt(c, await s.mounts(ctx, "active"), "active");
      expect(await snapshotTree(dir)).toEqual(["kept=yes"]);
    });

    it("removes crash leftovers (new-*, rm-*) when reopened and keeps its records", async () => {
      const c = await setup();
      let s = c.snapshotter;
      await layer(c, "base-a", "base", undefined, async (d) => writeFile(join(d, "base"), "b"));
      const activeMounts = await s.prepare(ctx, "active", "base", { labels: { x: "y" } });
      await s.close();
      const sd = snapshotsDir(c.root);
      await mkdir(join(sd, "new-crash1", "fs"), { recursive: true });
      await writeFile(join(sd, "new-crash1", "fs", "half"), "half");
      await mkdir(join(sd, "rm-31337", "fs"), { recursive: true });
      s = await factory(c.root);
      c.opened.push(s);
      const entries = await readdir(sd);
      expect(entries.filter((n) => n.startsWith("new-") || n.startsWith("rm-"))).toEqual([]);
      expect((await s.stat(ctx, "base")).kind).toBe("committed");
      expect(stripUpperdir((await s.stat(ctx, "active")).labels)).toEqual({ x: "y" });
      expect(await s.mounts(ctx, "active")).toEqual(activeMounts);
      const dir = await mountAt(c, activeMounts, "active");
      expect(await snapshotTree(dir)).toEqual(["base=b"]);
      unmountAll(dir);
      // Ids keep increasing after a reopen: a new snapshot gets its own directory.
      const fresh = await s.prepare(ctx, "fresh", undefined);
      expect(JSON.stringify(fresh)).not.toEqual(JSON.stringify(activeMounts));
      expect(await readdir(sd)).toHaveLength(3);
    });

    it("fails with Canceled on an aborted context and closes twice without error", async () => {
      const c = await setup();
      const s = c.snapshotter;
      const aborted = new AbortController();
      aborted.abort();
      const actx = background(aborted.signal);
      await expectError(s.prepare(actx, "x", undefined), "Canceled");
      await expectError(s.stat(actx, "x"), "Canceled");
      await expectError(s.stat(ctx, "x"), "NotFound");
      await s.prepare(ctx, "y", undefined);
      await s.close();
      await s.close();
    });

    it("leaves no mount behind under its temporary root", () => {
      const under = `${suiteRoot}/`;
      const left = readMountInfo().filter((m) => m.mountPoint === suiteRoot || m.mountPoint.startsWith(under));
      expect(left.map((m) => m.mountPoint)).toEqual([]);
    });
  });
}

/** Prepares `key` without parent and returns the key. */
async function prepareOnly(s: Snapshotter, key: string): Promise<string> {
  await s.prepare(background(), key, undefined);
  return key;
}

/** Unmounts every mount at or below `dir`, deepest first; a busy mount is detached lazily. */
function unmountEverythingUnder(dir: string): void {
  for (const m of mountsUnder(dir).reverse()) {
    try {
      unmountAll(m);
    } catch {
      try {
        unmountAll(m, MNT.DETACH);
      } catch {
        // Reported by the final no-mounts-left case.
      }
    }
  }
}

/** Drops the overlay snapshotter's optional upperdir label, which is not part of what the cases compare. */
function stripUpperdir(labels: Readonly<Record<string, string>>): Record<string, string> {
  const { "containerd.io/snapshot/overlay.upperdir": _upper, ...rest } = labels;
  return rest;
}

/** Awaits `p` and checks that it fails with an error of `kind` (and exactly `message`, or matching it, when given). */
async function expectError(p: Promise<unknown>, kind: ErrorKind, message?: string | RegExp): Promise<void> {
  const outcome = await p.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  if (outcome.ok) throw new Error(`expected a ${kind} error, got success: ${JSON.stringify(outcome.value)}`);
  expect(kindOf(outcome.err), String(outcome.err)).toBe(kind);
  if (typeof message === "string") expect((outcome.err as Error).message).toBe(message);
  else if (message !== undefined) expect((outcome.err as Error).message).toMatch(message);
}

/**
 * Lists a tree for comparison: `dir/` for directories, `file=<content>` for files, `link->target` for
 * symlinks, sorted, paths relative to `root`.
 */
async function snapshotTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      const r = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        out.push(`${r}/`);
        await visit(p, r);
      } else if (entry.isFile()) {
        out.push(`${r}=${await readFile(p, "utf8")}`);
      } else {
        out.push(`${r}?`);
      }
    }
  };
  await visit(root, "");
  return out.sort();
}
