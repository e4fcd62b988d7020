/**
 * Apply-then-Diff round trip: a synthetic layer (files, directories, symlinks, hardlinks, xattrs, fifos,
 * devices, whiteouts, an opaque directory, setuid) is applied on a parent, the difference is written by
 * the walking comparer, and that layer re-applied on the parent elsewhere — by temporary bind mount and
 * straight into an overlay upper directory — gives the same tree.
 */
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readBlob } from "@containerts/content";
import { LocalContentStore } from "@containerts/content/local";
import { isNotImplemented } from "@containerts/errdefs";
import { background } from "@containerts/namespaces";
import { lgetxattr, mountAll, mountsUnder, unmountAll } from "@containerts/sys";
import { TarBuilder, chunks, snapshotTree, type PathState } from "../__fixtures__/tar.js";
import { applyTar } from "../apply/apply-tar.js";
import { FileSystemApplier } from "../apply/applier.js";
import { TarReader } from "../internal/tar/reader.js";
import { LayerMediaType, UNCOMPRESSED_LABEL } from "../media-types.js";
import { WalkingComparer } from "./comparer.js";

let dir = "";
let store: LocalContentStore;
let applier: FileSystemApplier;
let comparer: WalkingComparer;
const ctx = background();

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "diff-roundtrip-"));
  store = await LocalContentStore.open(join(dir, "content"));
  applier = new FileSystemApplier({ store, tempMountRoot: join(dir, "tmpmounts") });
  comparer = new WalkingComparer({ store, tempMountRoot: join(dir, "tmpmounts") });
});

afterEach(async () => {
  await applier.close();
  for (const m of mountsUnder(dir).sort((a, b) => b.length - a.length)) unmountAll(m);
  expect(mountsUnder(dir)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

const cap = Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

const baseLayer = () =>
  new TarBuilder()
    .dir("etc")
    .file("etc/passwd", "root:x:0:0\n")
    .dir("bin")
    .file("bin/sh", "#!sh", { mode: 0o755 })
    .dir("lib")
    .file("lib/a.so", "A")
    .hardlink("lib/a-link.so", "lib/a.so")
    .file("gone", "bye")
    .dir("gonedir")
    .file("gonedir/child", "c")
    .dir("opq")
    .file("opq/o1", "1")
    .dir("opq/sub")
    .file("opq/sub/o2", "2")
    .dir("keep", { mode: 0o750 })
    .file("keep/same", "same")
    .build();

const upperLayer = () =>
  new TarBuilder()
    .whiteout(".wh.gone")
    .whiteout(".wh.gonedir")
    .dir("opq", { mode: 0o711 })
    .whiteout("opq/.wh..wh..opq")
    .file("opq/new", "n")
    .dir("etc", { mtime: 1_700_000_000 })
    .file("etc/passwd", "root:x:0:0\nuser:x:1000:1000\n")
    .dir("home/user", { uid: 1000, gid: 1000, mode: 0o750 })
    .file("home/user/.profile", "export A=1\n", { uid: 1000, gid: 1000, mode: 0o600 })
    .symlink("home/user/link", "../../etc/passwd", { uid: 1000 })
    .symlink("abs", "/etc/passwd")
    .file("data/f1", "hard")
    .hardlink("data/f2", "data/f1")
    .file("data/x", "xattr", { xattrs: { "user.note": "hello", "security.capability": cap } })
    .dir("data/xd", { xattrs: { "user.dir": "d" } })
    .fifo("run/fifo", { mode: 0o620 })
    .device("dev/null", "char", 1, 3)
    .device("dev/loop0", "block", 7, 0, { mode: 0o660, gid: 6 })
    .file("bin/su", "su", { mode: 0o4755 })
    .file("lib/a.so", "A2")
    .build();

/**
 * A tree snapshot comparable across copies: no ctime or link counts, and no directory mtimes — a
 * directory that loses an entry to a whiteout without being in the layer itself gets its mtime from the
 * kernel at apply time (as with containerd), so two applies a second apart legitimately differ there.
 * File mtimes are compared exactly.
 */
function normalized(root: string): Record<string, PathState> {
  const t = snapshotTree(root, [], false);
  for (const v of Object.values(t)) {
    v.nlink = 0;
    if (v.type === "dir") v.mtimeNs = "";
  }
  return t;
}

async function tree(name: string, ...layers: Buffer[]): Promise<string> {
  const p = join(dir, name);
  mkdirSync(p);
  for (const l of layers) await applyTar(p, chunks(l, 4096));
  return p;
}

const bind = (p: string, ro = false) => [{ type: "bind", source: p, options: ["rbind", ro ? "ro" : "rw"] }];

async function entries(digest: string): Promise<string[]> {
  const tar = gunzipSync(await readBlob(store, ctx, digest));
  const r = new TarReader(chunks(tar));
  const names: string[] = [];
  for (let h = await r.next(); h !== undefined; h = await r.next()) names.push(`${h.typeflag}:${h.name}`);
  return names;
}

describe("apply → diff → apply round trip", () => {
  it("reproduces the tree through a gzip layer, by bind mount and into an overlay upperdir", async () => {
    const parent = await tree("parent", baseLayer());
    const expected = await tree("a", baseLayer(), upperLayer());
    const want = normalized(expected);
    expect(want["data/x"]?.xattrs["security.capability"]).toBeDefined();

    const desc = await comparer.compare(ctx, bind(parent), bind(expected), { labels: { "test.label": "1" } });
    expect(desc.mediaType).toBe(LayerMediaType.OciLayerGzip);
    const info = await store.info(ctx, desc.digest);
    const tar = gunzipSync(await readBlob(store, ctx, desc.digest));
    expect(info.labels).toEqual({
      "test.label": "1",
      [UNCOMPRESSED_LABEL]: `sha256:${createHash("sha256").update(tar).digest("hex")}`,
    });
    const names = await entries(desc.digest);
    expect(names).toContain("0:.wh.gone");
    expect(names).toContain("0:.wh.gonedir");
    expect(names).toContain("0:opq/.wh.o1");
    expect(names).toContain("1:data/f2");
    expect(names.indexOf("5:home/")).toBeLessThan(names.indexOf("5:home/user/"));

    // Re-apply on a fresh copy of the parent, through a temporary bind mount.
    const copy = await tree("b", baseLayer());
    const applied = await applier.apply(ctx, desc, bind(copy));
    expect(applied.digest).toBe(info.labels[UNCOMPRESSED_LABEL]);
    expect(normalized(copy)).toEqual(want);
    expect(lstatSync(join(copy, "data/f1")).ino).toBe(lstatSync(join(copy, "data/f2")).ino);

    // Re-apply into an overlay upper directory over the parent, then look at the merged view.
    const upper = join(dir, "upper");
    const work = join(dir, "work");
    mkdirSync(upper);
    mkdirSync(work);
    const overlay = [{ type: "overlay", source: "overlay", options: [`workdir=${work}`, `upperdir=${upper}`, `lowerdir=${parent}`] }];
    await applier.apply(ctx, desc, overlay);
    const wh = lstatSync(join(upper, "gone"));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    const merged = join(dir, "merged");
    mkdirSync(merged);
    mountAll([{ type: "overlay", source: "overlay", options: [`lowerdir=${upper}:${parent}`] }], merged);
    try {
      expect(normalized(merged)).toEqual(want);
    } finally {
      unmountAll(merged);
    }

    // The original layer applied into an overlay upperdir keeps its opaque directory as the xattr; the
    // diff of that overlay writes it back as a marker, and the result applies to the same tree again.
    const layerBlob = Buffer.from(upperLayer());
    const layerDigest = `sha256:${createHash("sha256").update(layerBlob).digest("hex")}`;
    await store.writer(ctx, { ref: "upper-layer" }).then(async (w) => {
      await w.write(layerBlob);
      await w.commit(layerBlob.byteLength, layerDigest);
    });
    const upper2 = join(dir, "upper2");
    const work2 = join(dir, "work2");
    mkdirSync(upper2);
    mkdirSync(work2);
    const overlay2 = [{ type: "overlay", source: "overlay", options: [`workdir=${work2}`, `upperdir=${upper2}`, `lowerdir=${parent}`] }];
    await applier.apply(ctx, { mediaType: LayerMediaType.OciLayer, digest: layerDigest, size: layerBlob.byteLength }, overlay2);
    expect(lgetxattr(join(upper2, "opq"), "trusted.overlay.opaque")?.toString()).toBe("y");
    const viaOverlay = await comparer.compare(ctx, bind(parent, true), overlay2, { mediaType: LayerMediaType.OciLayer });
    expect(viaOverlay.mediaType).toBe(LayerMediaType.OciLayer);
    const raw = await readBlob(store, ctx, viaOverlay.digest);
    const r = new TarReader(chunks(raw));
    const overlayNames: string[] = [];
    for (let h = await r.next(); h !== undefined; h = await r.next()) overlayNames.push(h.name);
    expect(overlayNames).toContain("opq/.wh..wh..opq");
    expect(overlayNames).not.toContain("opq/.wh.o1");
    expect(overlayNames).toContain(".wh.gone");
    expect((await store.info(ctx, viaOverlay.digest)).labels[UNCOMPRESSED_LABEL]).toBeUndefined();
    const again = await tree("c", baseLayer());
    await applier.apply(ctx, viaOverlay, bind(again));
    expect(normalized(again)).toEqual(want);
  });

  it("writes an empty layer for identical trees, honours a given ref, and refuses other media types", async () => {
    const a = await tree("a", baseLayer());
    const b = await tree("b", baseLayer());
    const d = await comparer.compare(ctx, bind(a), bind(b), { ref: "my-ref", mediaType: LayerMediaType.OciLayer });
    expect(d.size).toBe(1024);
    await expect(store.status(ctx, "my-ref")).rejects.toThrow(/not found/);
    const err = await comparer.compare(ctx, bind(a), bind(b), { mediaType: LayerMediaType.OciLayerZstd }).catch((e: unknown) => e);
    expect(isNotImplemented(err)).toBe(true);
    expect((err as Error).message).toBe(`unsupported diff media type: ${LayerMediaType.OciLayerZstd}: not implemented`);
    expect(readFileSync(join(a, "etc/passwd"), "utf8")).toBe("root:x:0:0\n");
  });
});
