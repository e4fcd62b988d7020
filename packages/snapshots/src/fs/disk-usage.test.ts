import { lstatSync, readdirSync } from "node:fs";
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { background } from "@containerts/namespaces";
import { kindOf } from "@containerts/errdefs";
import { diskUsage } from "./disk-usage.js";

/** The same measure, computed the plain way: one lstat after another. */
function reference(root: string): { size: number; inodes: number } {
  const seen = new Set<string>();
  let size = 0;
  const visit = (p: string): void => {
    const st = lstatSync(p);
    const id = `${st.dev}:${st.ino}`;
    if (!seen.has(id)) {
      seen.add(id);
      size += st.blocks * 512;
    }
    if (st.isDirectory()) for (const n of readdirSync(p)) visit(join(p, n));
  };
  visit(root);
  return { size, inodes: seen.size };
}

describe("diskUsage", () => {
  let tmp = "";
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), "containerts-du-"));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("counts every inode once, hard links included, like a sequential walk", async () => {
    const root = join(tmp, "tree");
    await mkdir(join(root, "a/b/c"), { recursive: true });
    await mkdir(join(root, "empty"));
    for (let i = 0; i < 100; i++) await writeFile(join(root, "a", `f${i}`), Buffer.alloc(i * 97));
    await writeFile(join(root, "a/b/c/big"), Buffer.alloc(300_000, 1));
    await link(join(root, "a/b/c/big"), join(root, "hard"));
    await symlink("a/b", join(root, "link"));
    await symlink("/nonexistent", join(root, "dangling"));
    const usage = await diskUsage(background(), root);
    expect(usage).toEqual(reference(root));
    // The root, a, b, c, empty, 100 files, big (twice linked), two symlinks.
    expect(usage.inodes).toBe(1 + 3 + 1 + 100 + 1 + 2);
  });

  it("measures an empty directory, a file and a symlink given as root", async () => {
    const dir = join(tmp, "d");
    await mkdir(dir);
    expect(await diskUsage(background(), dir)).toEqual(reference(dir));
    const file = join(tmp, "f");
    await writeFile(file, "x");
    expect(await diskUsage(background(), file)).toEqual(reference(file));
    const sym = join(tmp, "s");
    await symlink("d", sym);
    // A symlink root is the link itself, not what it points to.
    expect(await diskUsage(background(), sym)).toEqual(reference(sym));
    expect(reference(sym).inodes).toBe(1);
  });

  it("fails for a missing root and when canceled", async () => {
    const missing = await diskUsage(background(), join(tmp, "missing")).catch((e: unknown) => e);
    expect((missing as NodeJS.ErrnoException).code).toBe("ENOENT");
    const root = join(tmp, "tree");
    await mkdir(join(root, "a"), { recursive: true });
    await writeFile(join(root, "a/f"), "x");
    const ac = new AbortController();
    ac.abort();
    const canceled = await diskUsage(background(ac.signal), root).catch((e: unknown) => e);
    expect(kindOf(canceled)).toBe("Canceled");
  });
});
