import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isInvalidArgument, isNotImplemented } from "@containerts/errdefs";
import { afterEach, describe, expect, it } from "vitest";
import { Scratch } from "./__fixtures__/scratch.js";
import { MNT, MS } from "./constants.js";
import { makedev } from "./device.js";
import { SysError } from "./errors.js";
import { rootPath } from "./internal/root-path.js";
import { mount, mountAll, mountOne, pageSize, umount2, unmountAll, unmountAllAsync } from "./mount.js";
import { optionsSize } from "./mount-options.js";
import { isMountPoint, mountsUnder, readMountInfo } from "./mountinfo.js";

const scratch = new Scratch();
afterEach(() => scratch.cleanup());

function infoAt(path: string) {
  const all = readMountInfo().filter((m) => m.mountPoint === path);
  return all[all.length - 1];
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to throw");
}

describe("mount and umount2", () => {
  it("mounts a tmpfs and unmounts it", () => {
    const dir = scratch.dir("tmpfs");
    mount("tmpfs", dir, "tmpfs", MS.NOSUID | MS.NODEV, "size=1m,mode=750");
    expect(isMountPoint(dir)).toBe(true);
    const info = infoAt(dir);
    expect(info?.fsType).toBe("tmpfs");
    expect(info?.options.split(",")).toEqual(expect.arrayContaining(["nosuid", "nodev"]));
    expect(statSync(dir).mode & 0o777).toBe(0o750);
    writeFileSync(join(dir, "f"), "x");
    expect(mountsUnder(dir)).toStrictEqual([dir]);

    umount2(dir);
    expect(isMountPoint(dir)).toBe(false);
    expect(readdirSync(dir)).toStrictEqual([]);
  });

  it("reports kernel errors as SysError with Node's message shape", () => {
    const dir = scratch.dir("enoent");
    const target = join(dir, "missing");
    const err = thrown(() => mount("tmpfs", target, "tmpfs", 0));
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: "ENOENT", errno: 2, syscall: "mount", path: target });
    expect((err as SysError).message).toBe(`ENOENT: no such file or directory, mount '${target}'`);

    expect(thrown(() => umount2(dir))).toMatchObject({ code: "EINVAL", syscall: "umount2", path: dir });
    expect(thrown(() => mount("tmpfs", dir, "no-such-fs-type", 0))).toMatchObject({ code: "ENODEV" });
  });

  it("rejects strings with NUL bytes before calling the kernel", () => {
    expect(isInvalidArgument(thrown(() => mount("tmpfs", "/tmp/a\0b", "tmpfs", 0)))).toBe(true);
  });
});

describe("mountOne", () => {
  it("bind mounts read-only with the extra remount, so writes fail with EROFS", () => {
    const src = scratch.dir("src");
    const dst = scratch.dir("dst");
    writeFileSync(join(src, "hello"), "world");
    mountOne({ type: "bind", source: src, options: ["rbind", "ro"] }, dst);

    expect(readFileSync(join(dst, "hello"), "utf8")).toBe("world");
    expect(infoAt(dst)?.options.split(",")[0]).toBe("ro");
    expect(thrown(() => writeFileSync(join(dst, "new"), "x"))).toMatchObject({ code: "EROFS" });
    // The source stays writable.
    writeFileSync(join(src, "new"), "y");
    expect(readFileSync(join(dst, "new"), "utf8")).toBe("y");

    unmountAll(dst);
    expect(isMountPoint(dst)).toBe(false);
  });

  it("bind mounts read-write", () => {
    const src = scratch.dir("src");
    const dst = scratch.dir("dst");
    mountOne({ type: "bind", source: src, options: ["rbind", "rw"] }, dst);
    writeFileSync(join(dst, "through"), "x");
    expect(readFileSync(join(src, "through"), "utf8")).toBe("x");
  });

  it("mounts overlay with two lowers, an upper and a work dir, and shows the merged view", () => {
    const root = scratch.dir("overlay");
    const [lower1, lower2, upper, work, merged] = ["l1", "l2", "upper", "work", "merged"].map((n) => {
      const d = join(root, n);
      mkdirSync(d);
      return d;
    }) as [string, string, string, string, string];
    writeFileSync(join(lower1, "a"), "from l1");
    writeFileSync(join(lower1, "shared"), "top");
    writeFileSync(join(lower2, "b"), "from l2");
    writeFileSync(join(lower2, "shared"), "bottom");

    mountOne(
      {
        type: "overlay",
        source: "overlay",
        options: [`workdir=${work}`, `upperdir=${upper}`, `lowerdir=${lower1}:${lower2}`],
      },
      merged,
    );
    expect(infoAt(merged)?.fsType).toBe("overlay");
    expect(readdirSync(merged).sort()).toStrictEqual(["a", "b", "shared"]);
    expect(readFileSync(join(merged, "shared"), "utf8")).toBe("top");
    expect(readFileSync(join(merged, "b"), "utf8")).toBe("from l2");

    writeFileSync(join(merged, "c"), "new");
    expect(readFileSync(join(upper, "c"), "utf8")).toBe("new");
    unlinkSync(join(merged, "a"));
    const whiteout = statSync(join(upper, "a"));
    expect(whiteout.isCharacterDevice()).toBe(true);
    expect(whiteout.rdev).toBe(makedev(0, 0));
    expect(readFileSync(join(lower1, "a"), "utf8")).toBe("from l1");

    unmountAll(merged);
    expect(isMountPoint(merged)).toBe(false);
  });

  it("mounts overlay whose options exceed a page by compacting lowerdir (containerd's chdir trick)", () => {
    const root = scratch.dir("long");
    // A deep common parent makes every absolute lower path long; relative to it they are short.
    const parent = join(root, "p".repeat(200), "q".repeat(200), "snapshots");
    const lowers: string[] = [];
    for (let i = 1; i <= 12; i++) {
      const fs = join(parent, String(i), "fs");
      mkdirSync(fs, { recursive: true });
      writeFileSync(join(fs, `file${i}`), String(i));
      lowers.push(fs);
    }
    const upper = join(root, "upper");
    const work = join(root, "work");
    const merged = join(root, "merged");
    for (const d of [upper, work, merged]) mkdirSync(d);
    const options = [`workdir=${work}`, `upperdir=${upper}`, `lowerdir=${lowers.join(":")}`];
    expect(optionsSize(options)).toBeGreaterThan(pageSize());

    const cwd = process.cwd();
    mountOne({ type: "overlay", source: "overlay", options }, merged);
    expect(process.cwd()).toBe(cwd);
    expect(readdirSync(merged).sort()).toStrictEqual(lowers.map((_, i) => `file${i + 1}`).sort());
    expect(readFileSync(join(merged, "file7"), "utf8")).toBe("7");
  });

  it("rejects data longer than a page that cannot be compacted", () => {
    const dir = scratch.dir("toolong");
    const err = thrown(() =>
      mountOne({ type: "overlay", source: "overlay", options: [`lowerdir=${"/x".repeat(3000)}`] }, dir),
    );
    expect(isInvalidArgument(err)).toBe(true);
    expect(isMountPoint(dir)).toBe(false);
  });

  it("applies a propagation word with its own call", () => {
    const dir = scratch.dir("prop");
    mountOne({ type: "tmpfs", source: "tmpfs", options: ["size=1m", "shared"] }, dir);
    expect(infoAt(dir)?.optional.some((o) => o.startsWith("shared:"))).toBe(true);
    // remount without data skips the main call: only the propagation change is made.
    mountOne({ type: "tmpfs", source: "tmpfs", options: ["remount", "private"] }, dir);
    expect(infoAt(dir)?.optional.some((o) => o.startsWith("shared:"))).toBe(false);
  });

  it("remounts an existing bind read-only (bind,remount,ro skips the main call, like containerd)", () => {
    const src = scratch.dir("src");
    const dir = scratch.dir("remount");
    mountOne({ type: "bind", source: src, options: ["bind"] }, dir);
    writeFileSync(join(dir, "f"), "x");
    mountOne({ type: "bind", source: src, options: ["bind", "remount", "ro"] }, dir);
    expect(readMountInfo().filter((m) => m.mountPoint === dir)).toHaveLength(1);
    expect(infoAt(dir)?.options.split(",")[0]).toBe("ro");
    expect(thrown(() => writeFileSync(join(dir, "g"), "x"))).toMatchObject({ code: "EROFS" });
  });

  it("remounts with data through the main call", () => {
    const dir = scratch.dir("remount-data");
    mountOne({ type: "tmpfs", source: "tmpfs", options: ["size=1m"] }, dir);
    mountOne({ type: "tmpfs", source: "tmpfs", options: ["remount", "ro", "size=2m"] }, dir);
    expect(infoAt(dir)?.options.split(",")[0]).toBe("ro");
    expect(infoAt(dir)?.superOptions).toContain("size=2048k");
  });

  it("refuses FUSE types with NotImplementedError", () => {
    const dir = scratch.dir("fuse");
    expect(isNotImplemented(thrown(() => mountOne({ type: "fuse3.sshfs", source: "x", options: [] }, dir)))).toBe(true);
  });
});

describe("mountAll and unmountAll", () => {
  it("mounts in order, honouring Mount.target below the root", () => {
    const src = scratch.dir("src");
    mkdirSync(join(src, "inner"));
    const root = scratch.dir("root");
    mountAll(
      [
        { type: "bind", source: src, options: ["rbind", "rw"] },
        { type: "tmpfs", source: "tmpfs", target: "inner", options: ["size=1m"] },
      ],
      root,
    );
    expect(mountsUnder(root)).toStrictEqual([root, join(root, "inner")]);
    expect(infoAt(join(root, "inner"))?.fsType).toBe("tmpfs");
  });

  it("unmounts a stack of mounts on one path", () => {
    const dir = scratch.dir("stack");
    for (let i = 0; i < 3; i++) mount("tmpfs", dir, "tmpfs", 0, "size=1m");
    expect(readMountInfo().filter((m) => m.mountPoint === dir)).toHaveLength(3);
    unmountAll(dir);
    expect(isMountPoint(dir)).toBe(false);
  });

  it("does nothing for an empty path, a missing path or a plain directory", () => {
    const dir = scratch.dir("plain");
    expect(() => unmountAll("")).not.toThrow();
    expect(() => unmountAll(join(dir, "missing"))).not.toThrow();
    expect(() => unmountAll(dir)).not.toThrow();
  });

  it("retries EBUSY asynchronously and gives up with SysError EBUSY", async () => {
    const dir = scratch.dir("busy");
    mount("tmpfs", dir, "tmpfs", 0, "size=1m");
    const { openSync, closeSync } = await import("node:fs");
    const fd = openSync(join(dir, "held"), "w");
    try {
      await expect(unmountAllAsync(dir, { busyRetries: 2, busyDelayMs: 1 })).rejects.toMatchObject({ code: "EBUSY" });
    } finally {
      closeSync(fd);
    }
    await unmountAllAsync(dir);
    expect(isMountPoint(dir)).toBe(false);
    // Detaching needs no retry even while busy.
    mount("tmpfs", dir, "tmpfs", 0, "size=1m");
    unmountAll(dir, MNT.DETACH);
    expect(isMountPoint(dir)).toBe(false);
  });
});

describe("rootPath", () => {
  it("keeps .. and symlinks inside the root", () => {
    const root = scratch.dir("rootpath");
    mkdirSync(join(root, "etc"));
    symlinkSync("/etc", join(root, "abs"));
    symlinkSync("../../..", join(root, "etc", "up"));
    expect(rootPath(root, "abs/passwd")).toBe(join(root, "etc", "passwd"));
    expect(rootPath(root, "../../x")).toBe(join(root, "x"));
    expect(rootPath(root, "etc/up/y")).toBe(join(root, "y"));
    expect(rootPath(root, "missing/../z")).toBe(join(root, "z"));
  });
});
