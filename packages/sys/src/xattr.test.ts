import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Scratch } from "./__fixtures__/scratch.js";
import { XATTR } from "./constants.js";
import { lgetxattr, llistxattr, lremovexattr, lsetxattr } from "./xattr.js";

const scratch = new Scratch();
afterEach(() => scratch.cleanup());

describe("extended attributes", () => {
  it("sets, gets, lists and removes trusted.overlay.opaque and user.* attributes", () => {
    const dir = scratch.dir("xattr");
    lsetxattr(dir, "trusted.overlay.opaque", Buffer.from("y"));
    lsetxattr(dir, "user.note", new TextEncoder().encode("hello"));
    lsetxattr(dir, "user.empty", new Uint8Array(0));

    expect(lgetxattr(dir, "trusted.overlay.opaque")?.toString()).toBe("y");
    expect(lgetxattr(dir, "user.note")?.toString()).toBe("hello");
    expect(lgetxattr(dir, "user.empty")).toStrictEqual(Buffer.alloc(0));
    expect(llistxattr(dir)).toEqual(expect.arrayContaining(["trusted.overlay.opaque", "user.note", "user.empty"]));

    lremovexattr(dir, "user.note");
    expect(lgetxattr(dir, "user.note")).toBeUndefined();
    expect(llistxattr(dir)).not.toContain("user.note");
    expect(() => lremovexattr(dir, "user.note")).toThrow(expect.objectContaining({ code: "ENODATA" }));
  });

  it("handles large binary values", () => {
    const dir = scratch.dir("xattr");
    const value = Buffer.alloc(3000);
    for (let i = 0; i < value.length; i++) value[i] = i % 251;
    lsetxattr(dir, "user.big", value);
    expect(lgetxattr(dir, "user.big")).toStrictEqual(value);
  });

  it("honours XATTR.CREATE and XATTR.REPLACE", () => {
    const dir = scratch.dir("xattr");
    expect(() => lsetxattr(dir, "user.k", Buffer.from("1"), XATTR.REPLACE)).toThrow(
      expect.objectContaining({ code: "ENODATA", syscall: "lsetxattr" }),
    );
    lsetxattr(dir, "user.k", Buffer.from("1"), XATTR.CREATE);
    expect(() => lsetxattr(dir, "user.k", Buffer.from("2"), XATTR.CREATE)).toThrow(
      expect.objectContaining({ code: "EEXIST" }),
    );
    lsetxattr(dir, "user.k", Buffer.from("3"), XATTR.REPLACE);
    expect(lgetxattr(dir, "user.k")?.toString()).toBe("3");
  });

  it("acts on a symlink itself, not its target", () => {
    const dir = scratch.dir("xattr");
    const file = join(dir, "file");
    const link = join(dir, "link");
    writeFileSync(file, "");
    symlinkSync(file, link);
    lsetxattr(link, "trusted.mark", Buffer.from("link"));
    expect(lgetxattr(link, "trusted.mark")?.toString()).toBe("link");
    expect(lgetxattr(file, "trusted.mark")).toBeUndefined();
    expect(llistxattr(file)).toStrictEqual([]);
  });

  it("throws SysError ENOENT for a missing path", () => {
    const dir = scratch.dir("xattr");
    const missing = join(dir, "missing");
    expect(() => lgetxattr(missing, "user.x")).toThrow(expect.objectContaining({ code: "ENOENT", path: missing }));
    expect(() => llistxattr(missing)).toThrow(expect.objectContaining({ code: "ENOENT", syscall: "llistxattr" }));
  });
});
