import { statSync } from "node:fs";
import { join } from "node:path";
import { isInvalidArgument } from "@containerts/errdefs";
import { afterEach, describe, expect, it } from "vitest";
import { Scratch } from "./__fixtures__/scratch.js";
import { S_IFBLK, S_IFCHR, S_IFIFO, S_IFMT, S_IFREG } from "./constants.js";
import { major, makedev, minor, mknod } from "./device.js";
import { SysError } from "./errors.js";

const scratch = new Scratch();
afterEach(() => scratch.cleanup());

describe("makedev, major, minor", () => {
  it("match glibc's encoding and fs.Stats.rdev", () => {
    expect(makedev(0, 0)).toBe(0);
    expect(makedev(8, 1)).toBe(2049);
    expect(statSync("/dev/null").rdev).toBe(makedev(1, 3));
    for (const [ma, mi] of [[1, 3], [259, 65536], [4095, 255], [4096, 0x12345], [0xfffff, 0xfffff]] as const) {
      const dev = makedev(ma, mi);
      expect([major(dev), minor(dev)]).toStrictEqual([ma, mi]);
    }
  });

  it("rejects values that are not device parts", () => {
    expect(() => makedev(-1, 0)).toThrow(/major/);
    expect(isInvalidArgument(getError(() => makedev(1.5, 0)))).toBe(true);
    expect(isInvalidArgument(getError(() => major(-3)))).toBe(true);
  });
});

describe("mknod", () => {
  it("creates a 0/0 character device (an overlay whiteout)", () => {
    const dir = scratch.dir("mknod");
    const p = join(dir, "whiteout");
    mknod(p, S_IFCHR | 0o000, makedev(0, 0));
    const st = statSync(p);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.mode & S_IFMT).toBe(S_IFCHR);
    expect(st.rdev).toBe(0);
  });

  it("creates a block device, a FIFO and a regular file", () => {
    const dir = scratch.dir("mknod");
    mknod(join(dir, "blk"), S_IFBLK | 0o600, makedev(7, 200));
    const blk = statSync(join(dir, "blk"));
    expect(blk.isBlockDevice()).toBe(true);
    expect([major(blk.rdev), minor(blk.rdev)]).toStrictEqual([7, 200]);

    mknod(join(dir, "fifo"), S_IFIFO | 0o644);
    expect(statSync(join(dir, "fifo")).isFIFO()).toBe(true);

    mknod(join(dir, "file"), S_IFREG | 0o644);
    expect(statSync(join(dir, "file")).isFile()).toBe(true);
  });

  it("throws SysError EEXIST for an existing path", () => {
    const dir = scratch.dir("mknod");
    mknod(join(dir, "fifo"), S_IFIFO | 0o644);
    const err = getError(() => mknod(join(dir, "fifo"), S_IFIFO | 0o644));
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: "EEXIST", syscall: "mknod", path: join(dir, "fifo") });
  });
});

function getError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to throw");
}
