import { existsSync } from "node:fs";
import { chmod, chown, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryLevel } from "memory-level";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { background } from "@containerts/namespaces";
import { lgetxattr, lsetxattr, makedev, mknod, MNT, mountsUnder, readMountInfo, S_IFCHR, S_IFIFO, unmountAll } from "@containerts/sys";
import { snapshotterSuite } from "../testsuite/index.js";
import { NativeSnapshotter } from "./native.js";

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

snapshotterSuite("native", (root) => NativeSnapshotter.open({ root, openDatabase }));

describe("NativeSnapshotter specifics", () => {
  const ctx = background();
  let suiteRoot = "";
  let tmp = "";
  let root = "";
  let sn = "";
  let opened: NativeSnapshotter[] = [];

  const open = async () => {
    const s = await NativeSnapshotter.open({ root, openDatabase });
    opened.push(s);
    return s;
  };

  beforeEach(async () => {
    if (suiteRoot === "") suiteRoot = await mkdtemp(join(tmpdir(), "containerts-native-specific-"));
    tmp = await mkdtemp(join(suiteRoot, "case-"));
    root = join(tmp, "io.containerd.snapshotter.v1.native");
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
    expect(await s.prepare(ctx, "a1", undefined)).toEqual([{ type: "bind", source: `${sn}/1`, options: ["rbind", "rw"] }]);
    await s.commit(ctx, "c1", "a1");
    expect(await s.view(ctx, "v0", undefined)).toEqual([{ type: "bind", source: `${sn}/2`, options: ["rbind", "ro"] }]);
    expect(await s.prepare(ctx, "a3", "c1")).toEqual([{ type: "bind", source: `${sn}/3`, options: ["rbind", "rw"] }]);
    expect(await s.view(ctx, "v4", "c1")).toEqual([{ type: "bind", source: `${sn}/1`, options: ["rbind", "ro"] }]);
    // A view with a parent has no directory of its own.
    expect((await readdir(sn)).sort()).toEqual(["1", "2", "3"]);
    expect((await lstat(join(sn, "2"))).mode & 0o777).toBe(0o755);
  });

  it("copies the parent faithfully: modes, owners, times, links, devices, fifos, xattrs", async () => {
    const s = await open();
    await s.prepare(ctx, "base-a", undefined);
    const base = join(sn, "1");
    await mkdir(join(base, "dir/sub"), { recursive: true });
    await writeFile(join(base, "dir/file"), "content");
    await chown(join(base, "dir/file"), 1001, 1002);
    await chmod(join(base, "dir/file"), 0o4751);
    await chmod(join(base, "dir"), 0o1777);
    await link(join(base, "dir/file"), join(base, "hardlink"));
    await symlink("dir/file", join(base, "symlink"));
    mknod(join(base, "whiteout"), S_IFCHR | 0o600, makedev(0, 0));
    mknod(join(base, "fifo"), S_IFIFO | 0o640, 0);
    lsetxattr(join(base, "dir/file"), "trusted.overlay.opaque", Buffer.from("y"));
    lsetxattr(join(base, "dir/file"), "user.note", Buffer.from("kept"));
    await utimes(join(base, "dir/sub"), 1_000_000_000, 1_000_000_001);
    await s.commit(ctx, "base", "base-a");

    await s.prepare(ctx, "copy", "base");
    const copy = join(sn, "2");
    const f = await lstat(join(copy, "dir/file"));
    expect(f.mode & 0o7777).toBe(0o4751);
    expect([f.uid, f.gid]).toEqual([1001, 1002]);
    expect(await readFile(join(copy, "dir/file"), "utf8")).toBe("content");
    expect((await lstat(join(copy, "dir"))).mode & 0o7777).toBe(0o1777);
    const h = await lstat(join(copy, "hardlink"));
    expect(h.ino).toBe(f.ino);
    expect(f.nlink).toBe(2);
    expect(await readlink(join(copy, "symlink"))).toBe("dir/file");
    const w = await lstat(join(copy, "whiteout"));
    expect(w.isCharacterDevice()).toBe(true);
    expect(w.rdev).toBe(0);
    expect((await lstat(join(copy, "fifo"))).isFIFO()).toBe(true);
    expect((await lstat(join(copy, "fifo"))).mode & 0o777).toBe(0o640);
    expect(lgetxattr(join(copy, "dir/file"), "trusted.overlay.opaque")?.toString()).toBe("y");
    expect(lgetxattr(join(copy, "dir/file"), "user.note")?.toString()).toBe("kept");
    const sub = await lstat(join(copy, "dir/sub"));
    expect(sub.mtimeMs).toBe(1_000_000_001_000);
    // (atime is copied too, but reading the source for the commit's usage scan already moved it.)
    // The parent is untouched by writes to the copy.
    await writeFile(join(copy, "dir/file"), "changed");
    expect(await readFile(join(base, "dir/file"), "utf8")).toBe("content");
  });

  it("removes through rm-<id> and leaves nothing behind", async () => {
    const s = await open();
    await s.prepare(ctx, "a", undefined);
    await writeFile(join(sn, "1", "f"), "x");
    await s.remove(ctx, "a");
    expect(await readdir(sn)).toEqual([]);
    expect(existsSync(join(sn, "rm-1"))).toBe(false);
  });
});
