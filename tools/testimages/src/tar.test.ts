import { describe, expect, it } from "vitest";
import { FIXED_MTIME, readTar, writeTar } from "./tar.js";

describe("writeTar", () => {
  it("writes ustar entries with fixed time and owner, ending in two zero blocks", () => {
    const tar = writeTar([
      { path: "dir", type: "dir", mode: 0o755 },
      { path: "dir/file", type: "file", mode: 0o644, data: Buffer.from("hello") },
      { path: "dir/link", type: "symlink", mode: 0o777, linkname: "file" },
      { path: "dir/hard", type: "hardlink", mode: 0o644, linkname: "/dir/file" },
    ]);
    expect(tar.length % 512).toBe(0);
    expect(tar.subarray(-1024).every((b) => b === 0)).toBe(true);
    const entries = readTar(tar);
    expect(entries.map((e) => [e.path, e.type])).toEqual([
      ["dir/", "dir"],
      ["dir/file", "file"],
      ["dir/link", "symlink"],
      ["dir/hard", "hardlink"],
    ]);
    expect(Buffer.from(entries[1]!.data!).toString()).toBe("hello");
    expect(entries[2]!.linkname).toBe("file");
    expect(entries[3]!.linkname).toBe("dir/file"); // hard links are archive-relative
    for (const e of entries) expect([e.mtime, e.uid, e.gid]).toEqual([FIXED_MTIME, 0, 0]);
    expect(tar.toString("latin1", 257, 263)).toBe("ustar\0");
  });

  it("uses a PAX header for long names and link targets", () => {
    const long = `${"a".repeat(80)}/${"b".repeat(80)}`;
    const entries = readTar(writeTar([{ path: long, type: "symlink", mode: 0o777, linkname: `/${"t".repeat(150)}` }]));
    expect(entries).toHaveLength(1);
    expect(entries[0]!.path).toBe(long);
    expect(entries[0]!.linkname).toBe(`/${"t".repeat(150)}`);
  });

  it("is deterministic and rejects absolute or empty paths", () => {
    const e = [{ path: "x", type: "file" as const, mode: 0o600, data: Buffer.from([1, 2, 3]) }];
    expect(writeTar(e).equals(writeTar(e))).toBe(true);
    expect(writeTar(e, { mtime: 1 }).equals(writeTar(e))).toBe(false);
    expect(() => writeTar([{ path: "", type: "dir", mode: 0o755 }])).toThrow(RangeError);
  });
});
