/**
 * The hostile-layer corpus: each archive is built here, applied into `<sandbox>/target` next to a
 * sentinel tree, and the test asserts that nothing outside the target changed (content, type, mode,
 * owner, mtime, ctime, link count, xattrs) and that the layer either failed with a clear error or was
 * applied inside the target only.
 */
import { chmodSync, closeSync, existsSync, openSync, readSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync, chownSync, linkSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pack } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lgetxattr, lsetxattr, makedev } from "@containerts/sys";
import type { Logger } from "@containerts/plugin-registry";
import { TarBuilder, chunks, gnuSparseEntry, snapshotTree } from "../__fixtures__/tar.js";
import { TypeFlag } from "../internal/tar/format.js";
import { encodeUstarBlock } from "../internal/tar/writer.js";
import { applyTar, type ApplyTarOptions } from "./apply-tar.js";

let sandbox = "";
let target = "";
let before: ReturnType<typeof snapshotTree> = {};
const escapes: string[] = [];

function memoryLog(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };
}

beforeEach(() => {
  expect(process.geteuid?.()).toBe(0);
  sandbox = mkdtempSync(join(tmpdir(), "diff-hostile-"));
  target = join(sandbox, "target");
  mkdirSync(target);
  mkdirSync(join(sandbox, "sentinel/dir"), { recursive: true });
  mkdirSync(join(sandbox, "etc"));
  writeFileSync(join(sandbox, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(sandbox, "sentinel/secret.txt"), "top secret\n", { mode: 0o600 });
  chownSync(join(sandbox, "sentinel/secret.txt"), 1234, 1234);
  lsetxattr(join(sandbox, "sentinel/secret.txt"), "user.keep", Buffer.from("1"));
  writeFileSync(join(sandbox, "sentinel/exec"), "#!/bin/sh\n", { mode: 0o755 });
  writeFileSync(join(sandbox, "sentinel/dir/inner.txt"), "inner\n");
  chmodSync(join(sandbox, "sentinel/dir"), 0o700);
  symlinkSync("secret.txt", join(sandbox, "sentinel/link"));
  utimesSync(join(sandbox, "sentinel/secret.txt"), 1000, 1000);
  utimesSync(join(sandbox, "sentinel"), 2000, 2000);
  before = snapshotTree(sandbox, ["target"]);
});

afterEach(() => {
  rmSync(sandbox, { recursive: true, force: true });
  for (const p of escapes.splice(0)) rmSync(p, { recursive: true, force: true });
});

/** Empties the target (recreating it changes the sandbox directory itself, so the snapshot is retaken). */
function resetTarget(): void {
  rmSync(target, { recursive: true });
  mkdirSync(target);
  before = snapshotTree(sandbox, ["target"]);
}

/** Applies `archive` into the target; returns the error (or undefined) and checks the outside. */
async function apply(archive: Buffer, options: ApplyTarOptions = {}): Promise<Error | undefined> {
  let error: Error | undefined;
  try {
    await applyTar(target, chunks(archive, 700), options);
  } catch (err) {
    error = err as Error;
  }
  expect(snapshotTree(sandbox, ["target"])).toEqual(before);
  return error;
}

const inside = (p: string) => join(target, p);
const read = (p: string) => readFileSync(inside(p), "utf8");

describe("hostile layers (the outside of the target stays untouched)", () => {
  it("01 `../` names are cleaned into the root", async () => {
    const err = await apply(new TarBuilder().file("../../../sentinel/secret.txt", "owned").file("../etc/passwd", "owned").build());
    expect(err).toBeUndefined();
    expect(read("sentinel/secret.txt")).toBe("owned");
    expect(read("etc/passwd")).toBe("owned");
  });

  it("02 absolute names are cleaned into the root", async () => {
    const err = await apply(new TarBuilder().file(`${sandbox}/sentinel/secret.txt`, "owned").dir(`${sandbox}/sentinel/dir`, { mode: 0o777 }).build());
    expect(err).toBeUndefined();
    expect(read(`${sandbox.slice(1)}/sentinel/secret.txt`)).toBe("owned");
    expect(lstatSync(inside(`${sandbox.slice(1)}/sentinel/dir`)).mode & 0o7777).toBe(0o777);
  });

  it("03 a relative symlink to the outside, then a write through it", async () => {
    const err = await apply(
      new TarBuilder().symlink("evil", "../sentinel").file("evil/secret.txt", "owned").file("evil/new.txt", "new").build(),
    );
    expect(err).toBeUndefined();
    expect(readlinkSync(inside("evil"))).toBe("../sentinel");
    expect(read("sentinel/secret.txt")).toBe("owned");
    expect(read("sentinel/new.txt")).toBe("new");
  });

  it("04 an absolute symlink to the outside, then writes, a chmod'ed dir and a hardlink through it", async () => {
    const abs = `${sandbox}/sentinel`;
    const err = await apply(
      new TarBuilder()
        .symlink("evil", abs)
        .file("evil/secret.txt", "owned", { mode: 0o4777, uid: 0 })
        .dir("evil/dir", { mode: 0o777, uid: 99 })
        .build(),
    );
    expect(err).toBeUndefined();
    expect(read(`${abs.slice(1)}/secret.txt`)).toBe("owned");
    expect(lstatSync(inside(`${abs.slice(1)}/dir`)).uid).toBe(99);
  });

  it("05 a symlink chain climbing out of the root", async () => {
    const err = await apply(
      new TarBuilder()
        .symlink("a", "b")
        .symlink("b", "../../../..")
        .symlink("c", "a/sentinel")
        .file("c/secret.txt", "owned")
        .file("a/etc/passwd", "owned")
        .build(),
    );
    expect(err).toBeUndefined();
    expect(read("sentinel/secret.txt")).toBe("owned");
    expect(read("etc/passwd")).toBe("owned");
  });

  it("06 a pre-existing symlink in the target pointing outside", async () => {
    symlinkSync(join(sandbox, "sentinel"), inside("pre"));
    symlinkSync("../sentinel/dir", inside("pre2"));
    const err = await apply(
      new TarBuilder()
        .file("pre/secret.txt", "owned")
        .dir("pre2/", { mode: 0o777 })
        .file("pre2/inner.txt", "owned")
        .build(),
    );
    expect(err).toBeUndefined();
    expect(read(`${sandbox.slice(1)}/sentinel/secret.txt`)).toBe("owned");
    // `pre2/` as a directory entry replaces the symlink itself (a directory now, inside).
    expect(lstatSync(inside("pre2")).isDirectory()).toBe(true);
    expect(read("pre2/inner.txt")).toBe("owned");
  });

  it("07 a hardlink to a file outside by `..` fails (its cleaned target does not exist inside)", async () => {
    const err = await apply(new TarBuilder().hardlink("hl", "../sentinel/secret.txt").build());
    expect(err?.message).toMatch(/hardlink "hl": target "\.\.\/sentinel\/secret\.txt" does not exist/);
    expect(existsSync(inside("hl"))).toBe(false);
  });

  it("08 a hardlink to an absolute outside path fails", async () => {
    const err = await apply(new TarBuilder().hardlink("hl", `${sandbox}/sentinel/secret.txt`).build());
    expect(err?.message).toMatch(/does not exist/);
  });

  it("09 a hardlink through a symlinked directory that points outside fails", async () => {
    const err = await apply(
      new TarBuilder().symlink("d", `${sandbox}/sentinel`).hardlink("hl", "d/secret.txt").build(),
    );
    expect(err?.message).toMatch(/hardlink "hl": target "d\/secret.txt" does not exist/);
  });

  it("10 a hardlink to a symlink pointing outside links the symlink itself, and writes through it stay inside", async () => {
    const err = await apply(
      new TarBuilder()
        .symlink("ln", `${sandbox}/sentinel/secret.txt`)
        .hardlink("hl", "ln", { mode: 0o777, uid: 7 })
        .file("hl", "replaced")
        .symlink("ln2", `${sandbox}/sentinel`)
        .hardlink("hl2", "ln2")
        .file("hl2/x", "owned")
        .build(),
    );
    expect(err).toBeUndefined();
    expect(read("hl")).toBe("replaced");
    expect(readlinkSync(inside("ln"))).toBe(`${sandbox}/sentinel/secret.txt`);
    expect(read(`${sandbox.slice(1)}/sentinel/x`)).toBe("owned");
  });

  it("11 a hardlink to an inode shared with the outside does not get the header's owner, mode or times", async () => {
    linkSync(join(sandbox, "sentinel/secret.txt"), inside("shared"));
    // A new link necessarily bumps the shared inode's link count and ctime: compare everything else.
    const relaxed = () => {
      const t = snapshotTree(sandbox, ["target"], false);
      delete (t["sentinel/secret.txt"] as Partial<(typeof t)[string]>).nlink;
      return t;
    };
    const was = relaxed();
    await applyTar(target, chunks(new TarBuilder().hardlink("again", "shared", { mode: 0o6777, uid: 0, gid: 0, mtime: 5 }).build()));
    expect(relaxed()).toEqual(was);
    expect(lstatSync(inside("again")).ino).toBe(lstatSync(join(sandbox, "sentinel/secret.txt")).ino);
  });

  it("12 a directory replaced by a symlink mid-archive", async () => {
    const err = await apply(
      new TarBuilder()
        .dir("d")
        .file("d/f", "first")
        .symlink("d", `${sandbox}/sentinel`)
        .file("d/secret.txt", "owned")
        .dir("d/dir", { mode: 0o777 })
        .symlink("e", "../sentinel")
        .dir("e", { mode: 0o777 })
        .file("e/secret.txt", "inside")
        .build(),
    );
    expect(err).toBeUndefined();
    expect(read(`${sandbox.slice(1)}/sentinel/secret.txt`)).toBe("owned");
    expect(lstatSync(inside("e")).isDirectory()).toBe(true);
    expect(read("e/secret.txt")).toBe("inside");
  });

  it("13 device nodes: created inside as root, skipped or refused when the policy says so", async () => {
    const tar = new TarBuilder()
      .device("dev/null", "char", 1, 3)
      .device("../sentinel/sda", "block", 8, 0)
      .file("after", "x")
      .build();
    expect(await apply(tar)).toBeUndefined();
    expect(lstatSync(inside("dev/null")).rdev).toBe(makedev(1, 3));
    expect(lstatSync(inside("sentinel/sda")).isBlockDevice()).toBe(true);
    resetTarget();
    const log = memoryLog();
    expect(await apply(tar, { deviceNodes: "skip", log })).toBeUndefined();
    expect(existsSync(inside("dev/null"))).toBe(false);
    expect(read("after")).toBe("x");
    expect(log.warnings.join("\n")).toMatch(/"dev\/null" ignored/);
    const err = await apply(tar, { deviceNodes: "reject" });
    expect(err?.message).toMatch(/"dev\/null": device nodes are not allowed here/);
  });

  it("14 a NUL byte in a PAX path is rejected", async () => {
    const err = await apply(new TarBuilder().file("x", "owned", { pax: { path: `ok\0../../sentinel/secret.txt` } }).build());
    expect(err?.message).toMatch(/PAX record path contains a NUL byte/);
    expect(existsSync(inside("ok"))).toBe(false);
  });

  it("15 a NUL byte in a PAX linkpath is rejected", async () => {
    const err = await apply(new TarBuilder().symlink("l", "x", { pax: { linkpath: `/etc\0/passwd` } }).build());
    expect(err?.message).toMatch(/PAX record linkpath contains a NUL byte/);
  });

  it("16 over-long names (path and component) are rejected before touching the disk", async () => {
    const long = `${"a/".repeat(2100)}f`;
    let err = await apply(new TarBuilder().file(long, "x").build());
    expect(err?.message).toMatch(/name too long/);
    expect(existsSync(inside("a"))).toBe(false);
    err = await apply(new TarBuilder().file(`d/${"b".repeat(300)}`, "x").build());
    expect(err?.message).toMatch(/component too long/);
    err = await apply(new TarBuilder().symlink("s", "c".repeat(5000)).build());
    expect(err?.message).toMatch(/symlink target .*name too long/);
  });

  it("17 setuid, setgid and sticky bits are kept, inside only", async () => {
    const err = await apply(
      new TarBuilder()
        .file("../sentinel/exec", "#!/bin/evil\n", { mode: 0o4755, uid: 0 })
        .dir("shared", { mode: 0o2775, gid: 50 })
        .dir("tmp", { mode: 0o1777 })
        .file("shared/sgid", "x", { mode: 0o2711, uid: 1000, gid: 50 })
        .build(),
    );
    expect(err).toBeUndefined();
    expect(lstatSync(inside("sentinel/exec")).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(inside("shared")).mode & 0o7777).toBe(0o2775);
    expect(lstatSync(inside("tmp")).mode & 0o7777).toBe(0o1777);
    const sg = lstatSync(inside("shared/sgid"));
    expect([sg.mode & 0o7777, sg.uid, sg.gid]).toEqual([0o2711, 1000, 50]);
  });

  it("18 whiteouts aiming outside (`../.wh.`, through symlinks, `.wh...`) stay inside or fail", async () => {
    mkdirSync(inside("sentinel"));
    writeFileSync(inside("sentinel/keep"), "inside");
    let err = await apply(
      new TarBuilder()
        .whiteout("../.wh.sentinel")
        .symlink("evil", sandbox)
        .whiteout("evil/.wh.etc")
        .whiteout("evil/sentinel/.wh.secret.txt")
        .build(),
    );
    expect(err).toBeUndefined();
    expect(existsSync(inside("sentinel"))).toBe(false);
    err = await apply(new TarBuilder().whiteout("sub/.wh...").build());
    expect(err?.message).toMatch(/invalid whiteout name: "\.wh\.\.\."/);
    err = await apply(new TarBuilder().whiteout("sub/.wh.").build(), { whiteouts: "overlay" });
    expect(err?.message).toMatch(/invalid whiteout name/);
  });

  it("19 opaque markers through a symlink to the outside remove (or mark) inside only", async () => {
    const archive = new TarBuilder().symlink("evil", `${sandbox}/sentinel`).whiteout("evil/.wh..wh..opq").whiteout(`${sandbox}/.wh..wh..opq`).build();
    expect(await apply(archive)).toBeUndefined();
    resetTarget();
    expect(await apply(archive, { whiteouts: "overlay" })).toBeUndefined();
    expect(lgetxattr(inside(`${sandbox.slice(1)}/sentinel`), "trusted.overlay.opaque")?.toString()).toBe("y");
    expect(lgetxattr(join(sandbox, "sentinel"), "trusted.overlay.opaque")).toBeUndefined();
  });

  it("20 a size header past the data (10 GiB by PAX) fails with unexpected EOF, and base-256 overflow is refused", async () => {
    let err = await apply(
      new TarBuilder().declared({ name: "../sentinel/secret.txt", typeflag: TypeFlag.Reg, mode: 0o644, size: 10 * 2 ** 30 }, Buffer.from("partial")).build(false),
    );
    expect(err?.message).toMatch(/unexpected EOF while reading the data of "\.\.\/sentinel\/secret\.txt"/);
    const pax = new TarBuilder().declared({ name: "huge", typeflag: TypeFlag.Reg, mode: 0o644, size: 2 ** 60 }).build(false);
    err = await apply(pax);
    expect(err?.message).toMatch(/PAX size \d+ is too large/);
    const b256 = new TarBuilder().raw(encodeUstarBlock({ name: "huge", typeflag: TypeFlag.Reg, mode: 0o644, size: 2 ** 60 })).build(false);
    err = await apply(b256);
    expect(err?.message).toMatch(/size 1152921504606846976 is too large/);
  });

  it("21 xattr abuse: trusted.* refused with a warning, symlink xattrs never follow, oversized values fail", async () => {
    const log = memoryLog();
    let err = await apply(
      new TarBuilder()
        .dir("d", { xattrs: { "trusted.overlay.opaque": "y", "trusted.overlay.redirect": "/sentinel", "user.ok": "1" } })
        .file("cap", "x", { xattrs: { "security.capability": Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) } })
        .symlink("l", `${sandbox}/sentinel/secret.txt`, { xattrs: { "user.evil": "1" } })
        .build(),
      { log },
    );
    expect(err).toBeUndefined();
    expect(lgetxattr(inside("d"), "trusted.overlay.opaque")).toBeUndefined();
    expect(lgetxattr(inside("d"), "user.ok")?.toString()).toBe("1");
    expect(lgetxattr(inside("cap"), "security.capability")?.byteLength).toBe(20);
    expect(log.warnings.filter((w) => /ignored xattr trusted\./.test(w))).toHaveLength(2);
    expect(log.warnings.some((w) => /ignored xattr user\.evil/.test(w))).toBe(true);
    err = await apply(new TarBuilder().file("big", "x", { xattrs: { "user.big": Buffer.alloc(70_000, 1) } }).build());
    expect(err?.message).toMatch(/failed to setxattr "big" for key "user.big"/);
  });

  it("22 duplicate entries: the last one wins, replacing files and merging directories", async () => {
    const err = await apply(
      new TarBuilder()
        .file("f", "one", { mode: 0o600 })
        .file("f", "two", { mode: 0o640 })
        .dir("d", { mode: 0o700 })
        .file("d/keep", "k")
        .dir("d", { mode: 0o750 })
        .file("x", "file")
        .dir("x")
        .dir("y")
        .file("y", "now a file")
        .build(),
    );
    expect(err).toBeUndefined();
    expect(read("f")).toBe("two");
    expect(lstatSync(inside("f")).mode & 0o777).toBe(0o640);
    expect(lstatSync(inside("d")).mode & 0o777).toBe(0o750);
    expect(read("d/keep")).toBe("k");
    expect(lstatSync(inside("x")).isDirectory()).toBe(true);
    expect(read("y")).toBe("now a file");
  });

  it("23 times and owners of symlink entries apply to the link, not to what it points to", async () => {
    const err = await apply(
      new TarBuilder().symlink("l", `${sandbox}/sentinel/secret.txt`, { uid: 42, mtime: 12345 }).symlink("m", "../sentinel", { mtime: 7 }).build(),
    );
    expect(err).toBeUndefined();
    expect(lstatSync(inside("l")).uid).toBe(42);
    expect(Math.round(lstatSync(inside("l")).mtimeMs / 1000)).toBe(12345);
  });

  it("24 GNU long names and PAX global headers: global ignored, long `..` names cleaned", async () => {
    const err = await apply(
      new TarBuilder()
        .global({ path: "../sentinel/secret.txt", mtime: "0" })
        .gnuLongName(`${"../".repeat(60)}sentinel/secret.txt`)
        .file("ignored-short-name", "owned")
        .build(),
    );
    expect(err).toBeUndefined();
    expect(read("sentinel/secret.txt")).toBe("owned");
  });

  it("25 a symlink loop in the path fails instead of spinning", async () => {
    const err = await apply(new TarBuilder().symlink("a", "b").symlink("b", "a").file("a/x", "x").build());
    expect(err?.message).toMatch(/too many levels of symbolic links/);
  });

  it("26 a file used as a directory fails; a fifo is created inside", async () => {
    let err = await apply(new TarBuilder().fifo("../sentinel/fifo", { mode: 0o600 }).build());
    expect(err).toBeUndefined();
    expect(lstatSync(inside("sentinel/fifo")).isFIFO()).toBe(true);
    err = await apply(new TarBuilder().file("plain", "x").file("plain/child", "y").build());
    expect(err?.message).toMatch(/"plain" is not a directory/);
  });

  it("27 malformed archives: bad checksum, a lone zero block, a truncated header", async () => {
    const good = new TarBuilder().file("f", "x").build();
    const bad = Buffer.from(good);
    bad[10] = 0x41;
    expect((await apply(bad))?.message).toMatch(/checksum mismatch/);
    const lone = Buffer.concat([Buffer.alloc(512), good]);
    expect((await apply(lone))?.message).toMatch(/single zero block/);
    expect((await apply(good.subarray(0, 300)))?.message).toMatch(/unexpected EOF while reading a header/);
  });

  it("28 a sparse file past 8 GiB (old GNU, base-256 size) keeps its holes; a lying sparse map fails", async () => {
    const big = 10 * 2 ** 30;
    const err = await apply(
      new TarBuilder()
        .raw(gnuSparseEntry("../sentinel/sparse", big, [
          { offset: 4096, data: Buffer.from("hello") },
          { offset: big - 5, data: Buffer.from("world") },
        ]))
        .build(),
    );
    expect(err).toBeUndefined();
    const st = statSync(inside("sentinel/sparse"));
    expect(st.size).toBe(big);
    expect(st.blocks * 512).toBeLessThan(1 << 20);
    const fd = openSync(inside("sentinel/sparse"), "r");
    const buf = Buffer.alloc(5);
    readSync(fd, buf, 0, 5, 4096);
    expect(buf.toString()).toBe("hello");
    readSync(fd, buf, 0, 5, big - 5);
    expect(buf.toString()).toBe("world");
    readSync(fd, buf, 0, 5, 2 ** 32);
    expect(buf.equals(Buffer.alloc(5))).toBe(true);
    closeSync(fd);
    const lying = new TarBuilder().raw(gnuSparseEntry("s2", 100, [{ offset: 90, data: Buffer.alloc(20, 1) }])).build();
    expect((await apply(lying))?.message).toMatch(/sparse entry beyond the file size/);
  });

  it("29 node-tar's packer: trees with an escaping symlink and a write through it, replayed", async () => {
    const src = mkdtempSync(join(tmpdir(), "diff-pack-"));
    const src2 = mkdtempSync(join(tmpdir(), "diff-pack-"));
    escapes.push(src, src2);
    mkdirSync(join(src, "dir"));
    symlinkSync(`${sandbox}/sentinel`, join(src, "dir/escape"));
    mkdirSync(join(src2, "dir/escape"), { recursive: true });
    writeFileSync(join(src2, "dir/escape/secret.txt"), "owned");
    const first = withoutEnd(await packDir(src, ["dir", "dir/escape"]));
    const second = await packDir(src2, ["dir/escape/secret.txt"]);
    const err = await apply(Buffer.concat([first, second]));
    expect(err).toBeUndefined();
    expect(readlinkSync(inside("dir/escape"))).toBe(`${sandbox}/sentinel`);
    expect(read(`${sandbox.slice(1)}/sentinel/secret.txt`)).toBe("owned");
  });

  it("30 a hardlink followed by a file of the same name replaces the link, leaving the original intact", async () => {
    const err = await apply(new TarBuilder().file("orig", "original").hardlink("hl", "orig").file("hl", "new").build());
    expect(err).toBeUndefined();
    expect(read("orig")).toBe("original");
    expect(read("hl")).toBe("new");
  });

  it("31 an absolute symlink to `/` cannot reach the host", async () => {
    const marker = `containerts-escape-${process.pid}-${Date.now()}`;
    escapes.push(`/tmp/${marker}`);
    const err = await apply(new TarBuilder().symlink("root", "/").file(`root/tmp/${marker}`, "owned").dir(`root/tmp`, { mode: 0o700 }).build());
    expect(err).toBeUndefined();
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
    expect(read(`tmp/${marker}`)).toBe("owned");
    expect(lstatSync("/tmp").mode & 0o7777).toBe(0o1777);
  });
});

/** Packs `paths` under `cwd` with node-tar. */
async function packDir(cwd: string, paths: string[]): Promise<Buffer> {
  const pack = new Pack({ cwd, portable: true, noDirRecurse: true });
  const parts: Buffer[] = [];
  pack.on("data", (c: Buffer) => parts.push(c));
  const done = new Promise<void>((r) => pack.on("end", () => r()));
  for (const p of paths) pack.write(p);
  pack.end();
  await done;
  return Buffer.concat(parts);
}

/** An archive without its trailing zero blocks (so another archive can follow). */
function withoutEnd(b: Buffer): Buffer {
  let end = b.byteLength;
  while (end >= 512 && b.subarray(end - 512, end).every((x) => x === 0)) end -= 512;
  return b.subarray(0, end);
}
