import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NEW_PREFIX, SnapshotDirectories } from "./dirs.js";

describe("SnapshotDirectories", () => {
  let tmp = "";
  let umask = 0;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), "containerts-dirs-"));
    umask = process.umask();
  });
  afterEach(async () => {
    process.umask(umask);
    await rm(tmp, { recursive: true, force: true });
  });

  for (const mask of [0o022, 0o077, 0o000]) {
    it(`creates directories with exact modes under umask ${mask.toString(8).padStart(3, "0")}`, async () => {
      process.umask(mask);
      const dirs = new SnapshotDirectories(join(tmp, "snapshots"));
      await dirs.init();
      expect((await stat(dirs.dir)).mode & 0o777).toBe(0o700 & ~mask);
      // The probe is gone.
      expect(await readdir(dirs.dir)).toEqual([]);
      const plain = await dirs.makeTemp();
      expect((await stat(plain)).mode & 0o777).toBe(0o700);
      const open = await dirs.makeTemp(0o755);
      expect(open.startsWith(join(dirs.dir, NEW_PREFIX))).toBe(true);
      expect((await stat(open)).mode & 0o7777).toBe(0o755);
      await dirs.makeDir(join(open, "fs"), 0o755);
      await dirs.makeDir(join(open, "work"), 0o711);
      expect((await stat(join(open, "fs"))).mode & 0o7777).toBe(0o755);
      expect((await stat(join(open, "work"))).mode & 0o7777).toBe(0o711);
      const st = await stat(join(open, "fs"));
      expect(dirs.ownedBy(st.uid, st.gid)).toBe(true);
      expect(dirs.ownedBy(st.uid + 1, st.gid)).toBe(false);
    });
  }
});
