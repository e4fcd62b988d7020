/**
 * The image model over a real content store (LocalContentStore in a temp dir) holding images built in
 * process: walking, children, manifest selection per platform, config and diff IDs, platforms, size,
 * check, and refusal of oversized and malformed documents.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type Descriptor, digestOf, writeBlob } from "@containerts/content";
import { LocalContentStore } from "@containerts/content/local";
import { isFailedPrecondition, isInvalidArgument, isNotFound, kindOf } from "@containerts/errdefs";
import { type Context, background } from "@containerts/namespaces";

import {
  MediaType,
  check,
  children,
  childrenHandler,
  config,
  handlers,
  imageConfig,
  imagePlatforms,
  manifest,
  maxManifestSize,
  onlyPlatform,
  orderedPlatforms,
  readIndex,
  readManifest,
  resolveManifest,
  rootFS,
  size,
  skipChildren,
  walk,
  type HostPlatform,
} from "./index.js";
import { buildTestImage, writeTestImage, type TestImage } from "./testsuite/index.js";

const amd64Host: HostPlatform = { os: "linux", architecture: "amd64", variant: "" };
const arm64Host: HostPlatform = { os: "linux", architecture: "arm64", variant: "v8" };
const amd64 = onlyPlatform({ os: "linux", architecture: "amd64" }, amd64Host);
const arm64 = onlyPlatform({ os: "linux", architecture: "arm64" }, arm64Host);

let dir: string;
let store: LocalContentStore;
let ctx: Context;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "images-model-"));
  store = await LocalContentStore.open(dir);
  ctx = background();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(image: TestImage): Promise<TestImage> {
  await writeTestImage(store, ctx, image);
  return image;
}

async function putBytes(mediaType: string, bytes: Uint8Array): Promise<Descriptor> {
  const digest = digestOf(bytes);
  await writeBlob(store, ctx, `raw-${digest}`, bytes, { expected: digest, total: bytes.byteLength });
  return { mediaType, digest, size: bytes.byteLength };
}

async function error(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

describe("walking an image", () => {
  it("visits the tree depth first, target first", async () => {
    const image = await put(buildTestImage());
    const seen: string[] = [];
    await walk(ctx, handlers(async (_ctx, d) => {
      seen.push(d.digest);
      return undefined;
    }, childrenHandler(store)), [image.target]);
    expect(seen).toEqual(image.blobs.map((b) => b.descriptor.digest));
    expect(seen).toHaveLength(1 + 2 * (1 + 1 + 2));
  });

  it("stops following a descriptor whose handler says skipChildren", async () => {
    const image = await put(buildTestImage());
    const seen: string[] = [];
    await walk(ctx, handlers(async (_ctx, d) => {
      seen.push(d.mediaType);
      return d.mediaType === MediaType.OciManifest ? skipChildren : undefined;
    }, childrenHandler(store)), [image.target]);
    expect(seen).toEqual([MediaType.OciIndex, MediaType.OciManifest, MediaType.OciManifest]);
  });

  it("lists children of indexes and manifests, none of layers, configs and unknown types", async () => {
    const image = await put(buildTestImage({ format: "docker" }));
    const [m] = image.manifests;
    expect(await children(store, ctx, image.target)).toEqual(image.manifests.map((x) => x.descriptor));
    expect(await children(store, ctx, m!.descriptor)).toEqual([m!.config, ...m!.layers]);
    expect(await children(store, ctx, m!.config)).toEqual([]);
    expect(await children(store, ctx, m!.layers[0]!)).toEqual([]);
    expect(await children(store, ctx, { mediaType: "application/x-unknown", digest: m!.config.digest, size: 1 })).toEqual([]);
  });

  it("fails with NotFound when a document is absent", async () => {
    const image = buildTestImage();
    const e = await error(() => children(store, ctx, image.target));
    expect(isNotFound(e)).toBe(true);
  });

  it("honours a cancelled context", async () => {
    const image = await put(buildTestImage());
    const ac = new AbortController();
    ac.abort();
    await expect(walk({ ...ctx, signal: ac.signal }, childrenHandler(store), [image.target])).rejects.toThrow();
  });
});

describe("resolving the manifest for a platform", () => {
  it("picks the platform's manifest from an OCI index and a Docker manifest list", async () => {
    for (const format of ["oci", "docker"] as const) {
      const image = await put(buildTestImage({ format, seed: format }));
      const [a, b] = image.manifests;
      expect((await resolveManifest(store, ctx, image.target, amd64)).descriptor).toEqual(a!.descriptor);
      expect((await resolveManifest(store, ctx, image.target, arm64)).descriptor).toEqual(b!.descriptor);
      expect(await manifest(store, ctx, image.target, arm64)).toMatchObject({ config: b!.config, layers: b!.layers });
      // Without a platform: the first manifest.
      expect((await resolveManifest(store, ctx, image.target)).descriptor).toEqual(a!.descriptor);
    }
  });

  it("falls back through ARM variants in containerd's order", async () => {
    const image = await put(buildTestImage({
      platforms: [
        { os: "linux", architecture: "arm", variant: "v6" },
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm", variant: "v7" },
      ],
    }));
    const v7 = image.manifests[2]!;
    expect((await resolveManifest(store, ctx, image.target, arm64)).descriptor).toEqual(v7.descriptor);
    const v6only = onlyPlatform({ os: "linux", architecture: "arm", variant: "v6" }, amd64Host);
    expect((await resolveManifest(store, ctx, image.target, v6only)).descriptor).toEqual(image.manifests[0]!.descriptor);
    const preferAmd = orderedPlatforms([{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm", variant: "v7" }], amd64Host);
    expect((await resolveManifest(store, ctx, image.target, preferAmd)).descriptor).toEqual(image.manifests[1]!.descriptor);
  });

  it("checks the config's os/architecture when index entries have no platform", async () => {
    const image = await put(buildTestImage({ platformsInIndex: false }));
    expect((await resolveManifest(store, ctx, image.target, amd64)).descriptor).toEqual(image.manifests[0]!.descriptor);
    // As upstream: only the first platform-less entry is followed, so a later one is never considered.
    const e = await error(() => resolveManifest(store, ctx, image.target, arm64));
    expect(e.message).toBe(`no match for platform in manifest ${image.target.digest}: not found`);
    const armFirst = await put(buildTestImage({ platformsInIndex: false, seed: "arm", platforms: [{ os: "linux", architecture: "arm64" }] }));
    expect((await resolveManifest(store, ctx, armFirst.target, arm64)).descriptor).toEqual(armFirst.manifests[0]!.descriptor);
    expect(isNotFound(await error(() => resolveManifest(store, ctx, armFirst.target, amd64)))).toBe(true);
  });

  it("returns a manifest target whatever the platform", async () => {
    const image = await put(buildTestImage({ index: false, platforms: [{ os: "linux", architecture: "s390x" }] }));
    expect((await resolveManifest(store, ctx, image.target, amd64)).descriptor.digest).toBe(image.target.digest);
  });

  it("answers NotFound when nothing matches or the target is not an image", async () => {
    const image = await put(buildTestImage());
    const s390x = onlyPlatform({ os: "linux", architecture: "s390x" }, amd64Host);
    let e = await error(() => resolveManifest(store, ctx, image.target, s390x));
    expect(isNotFound(e)).toBe(true);
    expect(e.message).toBe(`no match for platform in manifest ${image.target.digest}: not found`);
    const layer = image.manifests[0]!.layers[0]!;
    e = await error(() => resolveManifest(store, ctx, layer, amd64));
    expect(e.message).toBe(`unexpected media type ${layer.mediaType} for ${layer.digest}: not found`);
    const noConfigMatch = await put(buildTestImage({ platformsInIndex: false, seed: "nc" }));
    e = await error(() => resolveManifest(store, ctx, noConfigMatch.target, s390x));
    expect(isNotFound(e)).toBe(true);
  });
});

describe("config, diff IDs, platforms and size", () => {
  it("reads the config and its diff IDs", async () => {
    const image = await put(buildTestImage({ layers: 3 }));
    const m = image.manifests[1]!;
    const c = await config(store, ctx, image.target, arm64);
    expect(c).toEqual(m.config);
    expect(await rootFS(store, ctx, c)).toEqual(m.diffIds);
    const parsed = await imageConfig(store, ctx, image.target, arm64);
    expect(parsed).toMatchObject({ os: "linux", architecture: "arm64", variant: "v8", rootfs: { type: "layers", diffIds: m.diffIds } });
    expect(parsed.config?.["Cmd"]).toEqual(["sh"]);
    // Compressed layers: the diff IDs are the digests of the uncompressed tars, not of the blobs.
    expect(m.diffIds).not.toEqual(m.layers.map((l) => l.digest));
    const raw = await put(buildTestImage({ compress: false, seed: "raw" }));
    expect(raw.manifests[0]!.diffIds).toEqual(raw.manifests[0]!.layers.map((l) => l.digest));
  });

  it("lists the platforms an image supports", async () => {
    const image = await put(buildTestImage());
    expect(await imagePlatforms(store, ctx, image.target)).toEqual([
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64", variant: "v8" },
    ]);
    // From the configs (os/architecture only, normalized) when the index does not say.
    const bare = await put(buildTestImage({ platformsInIndex: false, seed: "bare" }));
    expect(await imagePlatforms(store, ctx, bare.target)).toEqual([
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ]);
  });

  it("sums the blobs of one platform", async () => {
    const image = await put(buildTestImage());
    for (const [m, platform] of [[image.manifests[0]!, amd64], [image.manifests[1]!, arm64]] as const) {
      const want = image.target.size + m.descriptor.size + m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
      expect(await size(store, ctx, image.target, platform)).toBe(want);
    }
    const single = await put(buildTestImage({ index: false, platforms: [{ os: "linux", architecture: "amd64" }], seed: "single" }));
    const m = single.manifests[0]!;
    expect(await size(store, ctx, single.target, amd64)).toBe(m.descriptor.size + m.config.size + m.layers.reduce((n, l) => n + l.size, 0));
  });
});

describe("check", () => {
  it("reports every blob present for a complete image", async () => {
    const image = await put(buildTestImage());
    const m = image.manifests[0]!;
    const r = await check(store, ctx, image.target, amd64);
    expect(r.available).toBe(true);
    expect(r.required).toEqual([m.config, ...m.layers]);
    expect(r.present).toEqual(r.required);
    expect(r.missing).toEqual([]);
  });

  it("reports missing layers, and a missing manifest as an unavailable image", async () => {
    const image = await put(buildTestImage());
    const m = image.manifests[0]!;
    await store.delete(ctx, m.layers[1]!.digest);
    let r = await check(store, ctx, image.target, amd64);
    expect(r.available).toBe(true);
    expect(r.present).toEqual([m.config, m.layers[0]]);
    expect(r.missing).toEqual([m.layers[1]]);
    await store.delete(ctx, m.descriptor.digest);
    r = await check(store, ctx, image.target, amd64);
    expect(r).toEqual({ available: false, required: [image.target], present: [], missing: [image.target] });
  });
});

describe("oversized and malformed documents", () => {
  it("refuses a manifest over 4 MiB with FailedPrecondition, before and while reading", async () => {
    const image = buildTestImage({ index: false, platforms: [{ os: "linux", architecture: "amd64" }] });
    const m = image.manifests[0]!;
    const doc = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: m.config.mediaType, digest: m.config.digest, size: m.config.size },
      layers: [],
      annotations: { padding: "x".repeat(maxManifestSize) },
    };
    const big = await putBytes(MediaType.OciManifest, new TextEncoder().encode(JSON.stringify(doc)));
    expect(big.size).toBeGreaterThan(maxManifestSize);
    let e = await error(() => readManifest(store, ctx, big));
    expect(isFailedPrecondition(e)).toBe(true);
    expect(e.message).toBe(`manifest ${big.digest}: ${big.size} bytes exceed the ${maxManifestSize}-byte limit: failed precondition`);
    // A descriptor that understates the size does not get the whole blob read either.
    e = await error(() => children(store, ctx, { ...big, size: 100 }));
    expect(isFailedPrecondition(e)).toBe(true);
    expect(e.message).toMatch(/exceed the 4194304-byte limit/);
    // Nor does an index, through the whole model.
    e = await error(() => size(store, ctx, { ...big, mediaType: MediaType.OciIndex }, amd64));
    expect(isFailedPrecondition(e)).toBe(true);
    // Exactly at the limit is fine.
    const exact = { ...doc, annotations: { padding: "" } };
    const base = new TextEncoder().encode(JSON.stringify(exact)).byteLength;
    exact.annotations.padding = "x".repeat(maxManifestSize - base);
    const atLimit = await putBytes(MediaType.OciManifest, new TextEncoder().encode(JSON.stringify(exact)));
    expect(atLimit.size).toBe(maxManifestSize);
    expect((await readManifest(store, ctx, atLimit)).config.digest).toBe(m.config.digest);
  });

  it("refuses malformed documents with InvalidArgument naming the blob", async () => {
    const cases: [string, string, string | object, RegExp][] = [
      ["not JSON", MediaType.OciManifest, "{ this is not json", /^manifest sha256:[0-9a-f]{64}: invalid JSON: /],
      ["not an object", MediaType.OciIndex, "[1,2,3]", /^index sha256:[0-9a-f]{64}: invalid JSON: not an object/],
      ["an index read as a manifest", MediaType.OciManifest, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }, /expected manifest but found index/],
      ["a manifest read as an index", MediaType.DockerManifestList, { schemaVersion: 2, config: {}, layers: [] }, /expected index but found manifest/],
      ["schema 1", MediaType.DockerManifest, { schemaVersion: 1, fsLayers: [{ blobSum: "sha256:x" }] }, /schema 1 not supported/],
      ["layers not an array", MediaType.OciManifest, { schemaVersion: 2, config: { mediaType: "x", digest: "sha256:x", size: 1 }, layers: {} }, /layers must be an array/],
      ["a string size", MediaType.OciManifest, { schemaVersion: 2, config: { mediaType: "x", digest: "sha256:x", size: "1" } }, /size of sha256:x must be a non-negative integer/],
      ["no config", MediaType.OciManifest, { schemaVersion: 2, layers: [] }, /config is missing/],
      ["a bad platform", MediaType.OciIndex, { schemaVersion: 2, manifests: [{ mediaType: "x", digest: "sha256:x", size: 1, platform: "linux" }] }, /platform must be an object/],
      ["bad annotations", MediaType.OciIndex, { schemaVersion: 2, manifests: [], annotations: { a: 1 } }, /annotations\["a"\] must be a string/],
      ["invalid UTF-8", MediaType.OciManifest, "\uFFFF", /invalid JSON/],
    ];
    for (const [what, mediaType, body, message] of cases) {
      const bytes = typeof body === "string" ? (what === "invalid UTF-8" ? new Uint8Array([0x7b, 0xff, 0x7d]) : new TextEncoder().encode(body)) : new TextEncoder().encode(JSON.stringify(body));
      const desc = await putBytes(mediaType, bytes);
      const e = await error(() => children(store, ctx, desc));
      expect(isInvalidArgument(e), `${what}: ${e.message}`).toBe(true);
      expect(e.message, what).toMatch(message);
    }
  });

  it("refuses a malformed config when reading diff IDs", async () => {
    const bad = await putBytes(MediaType.OciConfig, new TextEncoder().encode(JSON.stringify({ rootfs: { diff_ids: "sha256:x" } })));
    const e = await error(() => rootFS(store, ctx, bad));
    expect(kindOf(e)).toBe("InvalidArgument");
    expect(e.message).toMatch(/^config sha256:[0-9a-f]{64}: rootfs.diff_ids must be an array of strings/);
  });

  it("parses what it accepts into domain descriptors", async () => {
    const image = await put(buildTestImage({ annotations: { "org.opencontainers.image.ref.name": "v1" } }));
    const index = await readIndex(store, ctx, image.target);
    expect(index.annotations).toEqual({ "org.opencontainers.image.ref.name": "v1" });
    expect(index.manifests[1]!.platform).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(index.schemaVersion).toBe(2);
  });
});
