/**
 * FileSystemApplier end to end: layers read from a content store, decompressed (gzip, zstd, detection
 * by magic), hashed and extracted onto temporary mounts or straight into an overlay upper directory.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chownSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { digestOf, writeBlob } from "@containerts/content";
import { LocalContentStore } from "@containerts/content/local";
import { isNotFound, kindOf } from "@containerts/errdefs";
import { background } from "@containerts/namespaces";
import { lgetxattr, mountAll, mountsUnder, unmountAll } from "@containerts/sys";
import { TarBuilder, zstdRawFrame } from "../__fixtures__/tar.js";
import { LayerMediaType } from "../media-types.js";
import { FileSystemApplier } from "./applier.js";

let dir = "";
let store: LocalContentStore;
let applier: FileSystemApplier;
const ctx = background();

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "diff-applier-"));
  store = await LocalContentStore.open(join(dir, "content"));
  applier = new FileSystemApplier({ store, tempMountRoot: join(dir, "tmpmounts") });
});

afterEach(async () => {
  await applier.close();
  for (const m of mountsUnder(dir).sort((a, b) => b.length - a.length)) unmountAll(m);
  expect(mountsUnder(dir)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

async function blob(data: Uint8Array, mediaType: string) {
  const digest = digestOf(data);
  await writeBlob(store, ctx, `test-${digest}`, data, { expected: digest, total: data.byteLength });
  return { mediaType, digest, size: data.byteLength };
}

function bindMount(path: string) {
  mkdirSync(path, { recursive: true });
  return [{ type: "bind", source: path, options: ["rbind", "rw"] }];
}

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

const layerTar = () =>
  new TarBuilder()
    .dir("etc", { mode: 0o755 })
    .file("etc/hostname", "box\n")
    .file("bin/tool", "#!/bin/sh\necho hi\n", { mode: 0o4755, uid: 0, gid: 0 })
    .symlink("etc/alias", "hostname")
    .build();

describe("FileSystemApplier", () => {
  it("applies a gzip layer onto a temporarily mounted bind mount and returns the diff ID", async () => {
    const tar = layerTar();
    const trailing = Buffer.concat([tar, Buffer.alloc(1024)]); // trailing zeros count in the digest
    const desc = await blob(gzipSync(trailing), LayerMediaType.OciLayerGzip);
    const rootfs = join(dir, "rootfs");
    const applied = await applier.apply(ctx, desc, bindMount(rootfs));
    expect(applied).toEqual({ mediaType: LayerMediaType.OciLayer, digest: sha(trailing), size: trailing.byteLength });
    expect(readFileSync(join(rootfs, "etc/hostname"), "utf8")).toBe("box\n");
    expect(lstatSync(join(rootfs, "bin/tool")).mode & 0o7777).toBe(0o4755);
    expect(readdirSync(join(dir, "tmpmounts"))).toEqual([]);
  });

  it("decompresses zstd (with a skippable frame) in the worker, and Docker layers by magic number", async () => {
    const tar = layerTar();
    const z = await blob(zstdRawFrame(tar, true), LayerMediaType.OciLayerZstd);
    expect(await applier.apply(ctx, z, bindMount(join(dir, "z")))).toMatchObject({ digest: sha(tar), size: tar.byteLength });
    expect(readFileSync(join(dir, "z/etc/hostname"), "utf8")).toBe("box\n");
    const docker = await blob(gzipSync(tar), LayerMediaType.DockerLayer);
    expect(await applier.apply(ctx, docker, bindMount(join(dir, "d")))).toMatchObject({ digest: sha(tar) });
    const plain = await blob(tar, LayerMediaType.OciLayerGzip); // declared gzip, actually plain: passes through
    expect(await applier.apply(ctx, plain, bindMount(join(dir, "p")))).toMatchObject({ digest: sha(tar) });
    await applier.close(); // from now on zstd is decoded inline
    expect(await applier.apply(ctx, z, bindMount(join(dir, "z2")))).toMatchObject({ digest: sha(tar) });
  });

  it("rejects unknown media types, missing blobs and undecodable data, leaving nothing mounted", async () => {
    const tar = layerTar();
    const unknown = await blob(tar, "application/vnd.example.thing");
    await expect(applier.apply(ctx, unknown, bindMount(join(dir, "u")))).rejects.toThrow(
      "failed to get stream processor for application/vnd.example.thing: no processor for media-type",
    );
    const missing = { mediaType: LayerMediaType.OciLayer, digest: sha(Buffer.from("nope")), size: 4 };
    const err = await applier.apply(ctx, missing, bindMount(join(dir, "m"))).catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    // OCI `tar` without suffix is not decompressed: gzip bytes are not a tar stream.
    const gz = await blob(gzipSync(tar), LayerMediaType.OciLayer);
    const bad = await applier.apply(ctx, gz, bindMount(join(dir, "g"))).catch((e: unknown) => e);
    expect(kindOf(bad)).toBe("InvalidArgument");
    const corrupt = Buffer.from(zstdRawFrame(tar));
    corrupt[6] = 0xff; // a reserved block type
    const zc = await blob(corrupt, LayerMediaType.OciLayerZstd);
    await expect(applier.apply(ctx, zc, bindMount(join(dir, "zc")))).rejects.toThrow(/zstd/);
    expect(mountsUnder(join(dir, "tmpmounts"))).toEqual([]);
    expect(readdirSync(join(dir, "tmpmounts"))).toEqual([]);
  });

  it("extracts straight into an overlay upperdir with overlay whiteouts, and the mounted overlay hides lower files", async () => {
    const lower = join(dir, "lower");
    mkdirSync(join(lower, "d"), { recursive: true });
    mkdirSync(join(lower, "p/q"), { recursive: true });
    writeFileSync(join(lower, "a"), "lower a");
    writeFileSync(join(lower, "b"), "lower b");
    writeFileSync(join(lower, "d/x"), "lower x");
    writeFileSync(join(lower, "d/y"), "lower y");
    chownSync(join(lower, "p/q"), 5, 6);
    chmodSync(join(lower, "p/q"), 0o710);
    const upper = join(dir, "upper");
    const work = join(dir, "work");
    mkdirSync(upper);
    mkdirSync(work);
    const tar = new TarBuilder()
      .whiteout(".wh.a")
      .dir("d")
      .whiteout("d/.wh..wh..opq")
      .file("d/z", "upper z")
      .file("p/q/new", "new")
      .build();
    const desc = await blob(gzipSync(tar), LayerMediaType.DockerLayerGzip);
    const mounts = [
      { type: "overlay", source: "overlay", options: [`workdir=${work}`, `upperdir=${upper}`, `lowerdir=${lower}`] },
    ];
    const applied = await applier.apply(ctx, desc, mounts);
    expect(applied.digest).toBe(sha(tar));
    const wh = lstatSync(join(upper, "a"));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(lgetxattr(join(upper, "d"), "trusted.overlay.opaque")?.toString()).toBe("y");
    const q = lstatSync(join(upper, "p/q"));
    expect([q.uid, q.gid, q.mode & 0o7777]).toEqual([5, 6, 0o710]);
    expect(existsSync(join(dir, "tmpmounts"))).toBe(false);

    const merged = join(dir, "merged");
    mkdirSync(merged);
    mountAll([{ type: "overlay", source: "overlay", options: [`lowerdir=${upper}:${lower}`] }], merged);
    try {
      expect(readdirSync(merged).sort()).toEqual(["b", "d", "p"]);
      expect(readdirSync(join(merged, "d"))).toEqual(["z"]);
      expect(readFileSync(join(merged, "p/q/new"), "utf8")).toBe("new");
    } finally {
      unmountAll(merged);
    }
  });
});
