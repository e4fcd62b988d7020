import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kindOf } from "@containerts/errdefs";
import { Bundle, atomicDelete } from "./bundle.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-bundle-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Bundle", () => {
  it("lays out a bundle as containerd does", async () => {
    const spec = Buffer.from('{"ociVersion":"1.0.2","odd":  "spacing kept"}');
    const b = await Bundle.create(join(dir, "root"), join(dir, "state"), "ns", "c1", spec);
    expect(b.path).toBe(join(dir, "state", "ns", "c1"));
    expect(statSync(b.path).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "state", "ns")).mode & 0o777).toBe(0o711);
    expect(statSync(join(b.path, "rootfs")).mode & 0o777).toBe(0o711);
    expect(readFileSync(join(b.path, "config.json"))).toEqual(spec);
    expect(readlinkSync(join(b.path, "work"))).toBe(join(dir, "root", "ns", "c1"));
    expect(statSync(join(dir, "root", "ns", "c1")).mode & 0o777).toBe(0o711);
    expect(lstatSync(join(b.path, "log")).isFIFO()).toBe(true);
  });

  it("refuses an id that is not an identifier and an existing bundle, leaving nothing", async () => {
    const err = await Bundle.create(join(dir, "root"), join(dir, "state"), "ns", "a/b", Buffer.from("{}")).catch((e: unknown) => e);
    expect(kindOf(err)).toBe("InvalidArgument");
    expect((err as Error).message).toContain("invalid task id a/b");
    await Bundle.create(join(dir, "root"), join(dir, "state"), "ns", "c1", Buffer.from("{}"));
    const again = await Bundle.create(join(dir, "root"), join(dir, "state"), "ns", "c1", Buffer.from("{}")).catch((e: unknown) => e);
    expect(kindOf(again)).toBe("AlreadyExists");
    expect(existsSync(join(dir, "state", "ns", "c1", "config.json"))).toBe(true);
  });

  it("replaces a leftover work directory", async () => {
    await Bundle.create(join(dir, "root"), join(dir, "state"), "ns", "c1", Buffer.from("{}"));
    await writeFile(join(dir, "root", "ns", "c1", "stale"), "x");
    await Bundle.load(join(dir, "root"), join(dir, "state"), "ns", "c1").delete();
    await Bundle.create(join(dir, "root"), join(dir, "state"), "ns", "c1", Buffer.from("{}"));
    expect(existsSync(join(dir, "root", "ns", "c1", "stale"))).toBe(false);
  });

  it("deletes the bundle and its work directory, also when the bundle is already gone", async () => {
    const b = await Bundle.create(join(dir, "root"), join(dir, "state"), "ns", "c1", Buffer.from("{}"));
    await writeFile(join(b.path, "address"), "unix:///x");
    await b.delete();
    expect(existsSync(b.path)).toBe(false);
    expect(existsSync(join(dir, "state", "ns", ".c1"))).toBe(false);
    expect(existsSync(join(dir, "root", "ns", "c1"))).toBe(false);
    await b.delete();

    const c = await Bundle.create(join(dir, "root"), join(dir, "state"), "ns", "c2", Buffer.from("{}"));
    await rm(c.path, { recursive: true });
    await c.delete();
    expect(existsSync(join(dir, "root", "ns", "c2"))).toBe(false);
  });

  it("atomicDelete ignores a missing path", async () => {
    await atomicDelete(join(dir, "nothing"));
  });
});
