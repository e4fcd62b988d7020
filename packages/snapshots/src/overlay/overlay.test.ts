import { existsSync } from "node:fs";
import { chown, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryLevel } from "memory-level";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { kindOf } from "@containerts/errdefs";
import { background } from "@containerts/namespaces";
import { MNT, mountAll, mountsUnder, readMountInfo, unmountAll } from "@containerts/sys";
import { SnapshotLabels } from "../snapshotter.js";
import { snapshotterSuite } from "../testsuite/index.js";
import { OverlaySnapshotter } from "./overlay.js";

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

snapshotterSuite("overlayfs", (root) => OverlaySnapshotter.open({ root, openDatabase }));
snapshotterSuite("overlayfs-async-remove-upperdir-label", (root) =>
  OverlaySnapshotter.open({ root, openDatabase, asyncRemove: true, upperdirLabel: true }),
);

describe("OverlaySnapshotter specifics", () => {
  const ctx = background();
  const indexOff = existsSync("/sys/module/overlay/parameters/index") ? ["index=off"] : [];
  let tmp = "";
  let root = "";
  let sn = "";
  let opened: OverlaySnapshotter[] = [];
  let suiteRoot = "";

  const open = async (options: { upperdirLabel?: boolean; asyncRemove?: boolean; at?: string } = {}) => {
    const s = await OverlaySnapshotter.open({
      root: options.at ?? root,
      openDatabase,
      ...(options.upperdirLabel === undefined ? {} : { upperdirLabel: options.upperdirLabel }),
      ...(options.asyncRemove === undefined ? {} : { asyncRemove: options.asyncRemove }),
    });
    opened.push(s);
    return s;
  };

  beforeEach(async () => {
    if (suiteRoot === "") suiteRoot = await mkdtemp(join(tmpdir(), "containerts-overlay-specific-"));
    tmp = await mkdtemp(join(suiteRoot, "case-"));
    root = join(tmp, "io.containerd.snapshotter.v1.overlayfs");
    sn = join(root, "snapshots");
  });

  afterEach(async () => {
    for (const m of mountsUnder(tmp).reverse()) {
      try {
        unmountAll(m);
      } catch {
        unmountAll(m, MNT.DETACH);
      }
    }
    for (const s of opened) await s.close();
    opened = [];
    await rm(tmp, { recursive: true, force: true });
  });

  afterAll(async () => {
    if (suiteRoot === "") return;
    const left = readMountInfo().filter((m) => m.mountPoint.startsWith(`${suiteRoot}/`));
    await rm(suiteRoot, { recursive: true, force: true });
    expect(left.map((m) => m.mountPoint)).toEqual([]);
  });

  it("returns containerd's exact mount shapes", async () => {
    const s = await open();
    expect(await s.prepare(ctx, "a1", undefined)).toEqual([
      { type: "bind", source: `${sn}/1/fs`, options: ["rw", "rbind"] },
    ]);
    await s.commit(ctx, "c1", "a1");
    expect(await s.view(ctx, "v0", "")).toEqual([{ type: "bind", source: `${sn}/2/fs`, options: ["ro", "rbind"] }]);
    expect(await s.prepare(ctx, "a3", "c1")).toEqual([
      {
        type: "overlay",
        source: "overlay",
        options: [...indexOff, `workdir=${sn}/3/work`, `upperdir=${sn}/3/fs`, `lowerdir=${sn}/1/fs`],
      },
    ]);
    await s.commit(ctx, "c3", "a3");
    expect(await s.view(ctx, "v1", "c1")).toEqual([{ type: "bind", source: `${sn}/1/fs`, options: ["ro", "rbind"] }]);
    expect(await s.view(ctx, "v2", "c3")).toEqual([
      { type: "overlay", source: "overlay", options: [...indexOff, `lowerdir=${sn}/3/fs:${sn}/1/fs`] },
    ]);
    expect(await s.prepare(ctx, "a6", "c3")).toEqual([
      {
        type: "overlay",
        source: "overlay",
        options: [...indexOff, `workdir=${sn}/6/work`, `upperdir=${sn}/6/fs`, `lowerdir=${sn}/3/fs:${sn}/1/fs`],
      },
    ]);
  });

  it("lays out snapshots/<id>/{fs,work} with containerd's modes and the parent's owner", async () => {
    const s = await open();
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    expect((await stat(sn)).mode & 0o777).toBe(0o700);
    await s.prepare(ctx, "a1", undefined);
    expect((await stat(join(sn, "1"))).mode & 0o777).toBe(0o700);
    expect((await stat(join(sn, "1/fs"))).mode & 0o777).toBe(0o755);
    expect((await stat(join(sn, "1/work"))).mode & 0o777).toBe(0o711);
    await s.commit(ctx, "c1", "a1");
    expect(existsSync(join(sn, "1/work"))).toBe(true);
    await chown(join(sn, "1/fs"), 1234, 5678);
    await s.prepare(ctx, "a2", "c1");
    const child = await stat(join(sn, "2/fs"));
    expect([child.uid, child.gid]).toEqual([1234, 5678]);
    await s.view(ctx, "v3", "c1");
    expect((await readdir(join(sn, "3"))).sort()).toEqual(["fs"]);
  });

  it("adds the upperdir label to stat, update and walk when asked", async () => {
    const s = await open({ upperdirLabel: true });
    await s.prepare(ctx, "a", undefined, { labels: { x: "1" } });
    const expected = { x: "1", [SnapshotLabels.overlayUpperdir]: `${sn}/1/fs` };
    expect((await s.stat(ctx, "a")).labels).toEqual(expected);
    expect((await s.update(ctx, { name: "a", labels: { x: "1" } })).labels).toEqual(expected);
    const walked: Array<Readonly<Record<string, string>>> = [];
    await s.walk(ctx, (info) => {
      walked.push(info.labels);
    });
    expect(walked).toEqual([expected]);
    const plain = await open({ at: join(tmp, "plain") });
    await plain.prepare(ctx, "a", undefined, { labels: { x: "1" } });
    expect((await plain.stat(ctx, "a")).labels).toEqual({ x: "1" });
  });

  it("removes directories at once by default, and only at cleanup with asyncRemove", async () => {
    const s = await open();
    await s.prepare(ctx, "a", undefined);
    await s.remove(ctx, "a");
    expect(await readdir(sn)).toEqual([]);

    const a = await open({ at: join(tmp, "async"), asyncRemove: true });
    await a.prepare(ctx, "a", undefined);
    await a.remove(ctx, "a");
    expect(await readdir(join(tmp, "async", "snapshots"))).toEqual(["1"]);
    await a.cleanup(ctx);
    expect(await readdir(join(tmp, "async", "snapshots"))).toEqual([]);
  });

  it("mounts lowerdir lists longer than a page (deep chains under a long root)", async () => {
    const longRoot = join(tmp, "x".repeat(120), "io.containerd.snapshotter.v1.overlayfs");
    const s = await open({ at: longRoot });
    let parent: string | undefined;
    for (let i = 0; i < 40; i++) {
      await s.prepare(ctx, `a${i}`, parent);
      await writeFile(join(longRoot, "snapshots", String(i + 1), "fs", `f${i}`), String(i));
      await s.commit(ctx, `c${i}`, `a${i}`);
      parent = `c${i}`;
    }
    const mounts = await s.view(ctx, "top", parent);
    const lowerdir = mounts[0]?.options.find((o) => o.startsWith("lowerdir=")) ?? "";
    expect(Buffer.byteLength(lowerdir)).toBeGreaterThan(4096);
    const target = join(tmp, "mnt");
    await mkdir(target);
    mountAll(mounts, target);
    try {
      expect((await readdir(target)).length).toBe(40);
    } finally {
      unmountAll(target);
    }
  });

  it("refuses a root on overlayfs with FailedPrecondition", async () => {
    for (const d of ["l", "u", "w", "m"]) await mkdir(join(tmp, d));
    mountAll(
      [
        {
          type: "overlay",
          source: "overlay",
          options: [`lowerdir=${join(tmp, "l")}`, `upperdir=${join(tmp, "u")}`, `workdir=${join(tmp, "w")}`],
        },
      ],
      join(tmp, "m"),
    );
    const err = await open({ at: join(tmp, "m", "root") }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(kindOf(err)).toBe("FailedPrecondition");
    expect(String(err)).toMatch(/overlayfs is not supported/);
    expect(mountsUnder(join(tmp, "m"))).toEqual([join(tmp, "m")]);
  });
});
