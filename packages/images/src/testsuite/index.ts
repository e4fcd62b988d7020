/**
 * `@containerts/images/testsuite`: the conformance cases every {@link ImageStore} implementation runs
 * (the metadata store, the service layer, the gRPC proxy), as vitest `describe`/`it` blocks, plus
 * in-process test images and an in-memory store for tests.
 *
 * ```ts
 * imageStoreSuite("metadata", async () => {
 *   const db = await DB.open(new MemoryLevel());
 *   return { store: new MetadataImageStore(db), ctx: withNamespace(background(), "test"), cleanup: () => db.close() };
 * });
 * ```
 * @module
 */
import { kindOf, type ErrorKind } from "@containerts/errdefs";
import { type Context, withNamespace } from "@containerts/namespaces";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { Image, ImageInput, ImageStore } from "../image.js";
import { MediaType } from "../media-types.js";

export { MemoryImageStore } from "./memory.js";
export {
  buildTestImage,
  tarWithFile,
  writeTestImage,
  type TestBlob,
  type TestImage,
  type TestImageManifest,
  type TestImageOptions,
  type WriteTestImageOptions,
} from "./build.js";

/** What an {@link imageStoreSuite} factory returns: a fresh, empty store and a namespaced context. */
export interface ImageStoreSuiteFixture {
  readonly store: ImageStore;
  /** A context with a namespace; the suite derives other namespaces from it with `withNamespace`. */
  readonly ctx: Context;
  /** Releases everything the factory created; called after each case, even a failed one. */
  cleanup(): Promise<void>;
}

/** Creates a fresh, empty store for one case. */
export type ImageStoreSuiteFactory = () => Promise<ImageStoreSuiteFixture>;

/** Runs `fn` and returns the kind and message of the error it threw (failing the case when it did not throw). */
async function failure(fn: () => Promise<unknown>): Promise<{ kind: ErrorKind | undefined; message: string }> {
  try {
    await fn();
  } catch (err) {
    return { kind: kindOf(err), message: err instanceof Error ? err.message : String(err) };
  }
  throw new Error("expected an error, the call succeeded");
}

/** A valid digest made of one repeated hex character. */
function digest(c: string): string {
  return `sha256:${c.repeat(64)}`;
}

const indexTarget = { mediaType: MediaType.OciIndex, digest: digest("a"), size: 100 };
const manifestTarget = { mediaType: MediaType.DockerManifest, digest: digest("b"), size: 200, annotations: { "org.opencontainers.image.ref.name": "latest" } };

/** The conformance cases of an image store. */
export function imageStoreSuite(name: string, factory: ImageStoreSuiteFactory): void {
  describe(`image store conformance: ${name}`, () => {
    let f: ImageStoreSuiteFixture;
    let store: ImageStore;
    let ctx: Context;
    beforeEach(async () => {
      f = await factory();
      store = f.store;
      ctx = f.ctx;
    });
    afterEach(async () => {
      await f?.cleanup();
    });

    const image = (name: string, extra: Partial<ImageInput> = {}): ImageInput => ({ name, labels: {}, target: indexTarget, ...extra });

    it("creates and gets an image, setting both timestamps and ignoring the caller's", async () => {
      const before = Date.now();
      const created = await store.create(ctx, image("docker.io/library/busybox:latest", {
        labels: { a: "1", "containerd.io/gc.ref.content.x": digest("c") },
        createdAt: new Date(0),
        updatedAt: new Date(0),
      }));
      expect(created.name).toBe("docker.io/library/busybox:latest");
      expect(created.labels).toEqual({ a: "1", "containerd.io/gc.ref.content.x": digest("c") });
      expect(created.target).toEqual(indexTarget);
      expect(created.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(created.updatedAt.getTime()).toBe(created.createdAt.getTime());
      const got = await store.get(ctx, "docker.io/library/busybox:latest");
      expect(got).toEqual(created);
    });

    it("stores names verbatim and keeps the target's annotations", async () => {
      for (const n of ["localhost:5000/bb:test", "import-2024-01-01", "a name with spaces/ünïcode@sha256:x"]) {
        await store.create(ctx, image(n, { target: manifestTarget }));
        const got = await store.get(ctx, n);
        expect(got.name).toBe(n);
        expect(got.target).toEqual(manifestTarget);
      }
    });

    it("drops labels with empty values", async () => {
      const created = await store.create(ctx, image("x", { labels: { keep: "v", drop: "" } }));
      expect(created.labels).toEqual({ keep: "v" });
      expect((await store.get(ctx, "x")).labels).toEqual({ keep: "v" });
    });

    it("refuses an empty name, an invalid target and oversized labels with InvalidArgument", async () => {
      let e = await failure(() => store.create(ctx, image("")));
      expect(e).toEqual({ kind: "InvalidArgument", message: "Image.Name required" });
      e = await failure(() => store.create(ctx, { name: "no-target" }));
      expect(e.kind).toBe("InvalidArgument");
      expect(e.message).toMatch(/^Target\.Digest "" invalid: invalid checksum digest format/);
      e = await failure(() => store.create(ctx, image("short", { target: { ...indexTarget, digest: "sha256:abc" } })));
      expect(e.message).toMatch(/^Target\.Digest "sha256:abc" invalid: invalid checksum digest length/);
      e = await failure(() => store.create(ctx, image("size", { target: { ...indexTarget, size: 0 } })));
      expect(e).toEqual({ kind: "InvalidArgument", message: "Target.Size must be greater than zero: invalid argument" });
      e = await failure(() => store.create(ctx, image("mt", { target: { ...indexTarget, mediaType: "" } })));
      expect(e).toEqual({ kind: "InvalidArgument", message: "Target.MediaType must be set: invalid argument" });
      e = await failure(() => store.create(ctx, image("labels", { labels: { key: "v".repeat(5000) } })));
      expect(e.kind).toBe("InvalidArgument");
      expect(e.message).toMatch(/label key and value greater than maximum size \(4096 bytes\), key: key/);
      expect(await store.list(ctx)).toEqual([]);
    });

    it("refuses a second image with the same name with AlreadyExists", async () => {
      await store.create(ctx, image("dup"));
      const e = await failure(() => store.create(ctx, image("dup", { target: manifestTarget })));
      expect(e).toEqual({ kind: "AlreadyExists", message: 'image "dup": already exists' });
      expect((await store.get(ctx, "dup")).target).toEqual(indexTarget);
    });

    it("answers NotFound for an unknown image", async () => {
      expect(await failure(() => store.get(ctx, "nope"))).toEqual({ kind: "NotFound", message: 'image "nope": not found' });
      expect((await failure(() => store.update(ctx, image("nope"))))).toEqual({ kind: "NotFound", message: 'image "nope": not found' });
      expect((await failure(() => store.delete(ctx, "nope")))).toEqual({ kind: "NotFound", message: 'image "nope": not found' });
    });

    it("lists in name order with containerd's filters", async () => {
      await store.create(ctx, image("b/two", { labels: { "containerd.io/x": "y", env: "prod" }, target: manifestTarget }));
      await store.create(ctx, image("a/one", { labels: { env: "dev" } }));
      await store.create(ctx, image("c/three"));
      const names = async (filters?: string[]) => (await store.list(ctx, filters)).map((i: Image) => i.name);
      expect(await names()).toEqual(["a/one", "b/two", "c/three"]);
      expect(await names([""])).toEqual(["a/one", "b/two", "c/three"]);
      expect(await names(["name==a/one"])).toEqual(["a/one"]);
      expect(await names(["name~=^[ab]/"])).toEqual(["a/one", "b/two"]);
      expect(await names([`target.digest==${digest("b")}`])).toEqual(["b/two"]);
      expect(await names([`target.mediatype==${MediaType.OciIndex}`])).toEqual(["a/one", "c/three"]);
      expect(await names(['labels."containerd.io/x"==y'])).toEqual(["b/two"]);
      expect(await names(["labels.env"])).toEqual(["a/one", "b/two"]);
      expect(await names(["labels.env!=prod"])).toEqual(["a/one", "c/three"]);
      expect(await names(['annotations."org.opencontainers.image.ref.name"==latest'])).toEqual(["b/two"]);
      expect(await names(["labels.env==dev", "name==c/three"])).toEqual(["a/one", "c/three"]);
      expect(await names(["labels.env==dev,name==c/three"])).toEqual([]);
      expect(await names(["size==100"])).toEqual([]);
      const e = await failure(() => store.list(ctx, ["name=="]));
      expect(e.kind).toBe("InvalidArgument");
      expect(e.message).toMatch(/^filters: parse error/);
    });

    it("keeps namespaces apart and needs one", async () => {
      await store.create(ctx, image("shared-name"));
      const other = withNamespace(ctx, `${ctx.namespace ?? "ns"}-other`);
      expect(await store.list(other)).toEqual([]);
      expect((await failure(() => store.get(other, "shared-name"))).kind).toBe("NotFound");
      await store.create(other, image("shared-name", { target: manifestTarget }));
      expect((await store.get(ctx, "shared-name")).target).toEqual(indexTarget);
      expect((await store.get(other, "shared-name")).target).toEqual(manifestTarget);
      await store.delete(other, "shared-name");
      const none: Context = { signal: ctx.signal };
      expect((await failure(() => store.list(none))).kind).toBe("FailedPrecondition");
    });

    it("updates single labels, unsets them with an empty value, and keeps createdAt", async () => {
      const created = await store.create(ctx, image("u", { labels: { a: "1", b: "2" } }));
      await new Promise((r) => setTimeout(r, 5));
      const updated = await store.update(ctx, { name: "u", labels: { a: "", c: "3", "x.y/z": "dotted" } }, ["labels.a", "labels.c", "labels.x.y/z"]);
      expect(updated.labels).toEqual({ b: "2", c: "3", "x.y/z": "dotted" });
      expect(updated.target).toEqual(indexTarget);
      expect(updated.createdAt.getTime()).toBe(created.createdAt.getTime());
      expect(updated.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
      expect(await store.get(ctx, "u")).toEqual(updated);
      const missing = await store.update(ctx, { name: "u" }, ["labels.c"]);
      expect(missing.labels).toEqual({ b: "2", "x.y/z": "dotted" });
    });

    it("replaces labels, target and annotations by mask", async () => {
      await store.create(ctx, image("m", { labels: { a: "1" } }));
      let u = await store.update(ctx, { name: "m", labels: { z: "26" } }, ["labels"]);
      expect(u.labels).toEqual({ z: "26" });
      expect(u.target).toEqual(indexTarget);
      u = await store.update(ctx, { name: "m", target: manifestTarget }, ["target"]);
      expect(u.target).toEqual(manifestTarget);
      expect(u.labels).toEqual({ z: "26" });
      u = await store.update(ctx, { name: "m", target: { annotations: { k: "v" } } }, ["annotations.k"]);
      expect(u.target.annotations).toEqual({ ...manifestTarget.annotations, k: "v" });
      expect(u.target.digest).toBe(manifestTarget.digest);
      u = await store.update(ctx, { name: "m", target: { annotations: { only: "this" } } }, ["annotations"]);
      expect(u.target.annotations).toEqual({ only: "this" });
      u = await store.update(ctx, { name: "m", target: {} }, ["annotations.only"]);
      expect(u.target.annotations).toBeUndefined();
      expect(await store.get(ctx, "m")).toEqual(u);
    });

    it("replaces labels and target when no mask is given", async () => {
      await store.create(ctx, image("n", { labels: { a: "1" }, target: manifestTarget }));
      const u = await store.update(ctx, { name: "n", labels: { b: "2" }, target: indexTarget });
      expect(u.labels).toEqual({ b: "2" });
      expect(u.target).toEqual(indexTarget);
      const e = await failure(() => store.update(ctx, { name: "n", labels: { c: "3" } }));
      expect(e.kind).toBe("InvalidArgument");
      expect(e.message).toMatch(/^Target\.Digest "" invalid/);
      expect((await store.get(ctx, "n")).labels).toEqual({ b: "2" });
    });

    it("refuses unknown field paths, empty names and invalid results", async () => {
      await store.create(ctx, image("p"));
      expect(await failure(() => store.update(ctx, { name: "p" }, ["name"]))).toEqual({
        kind: "InvalidArgument",
        message: 'cannot update "name" field on image "p": invalid argument',
      });
      expect(await failure(() => store.update(ctx, { name: "" }, ["labels.a"]))).toEqual({ kind: "InvalidArgument", message: "Image.Name required" });
      const e = await failure(() => store.update(ctx, { name: "p", target: { ...indexTarget, size: -1 } }, ["target"]));
      expect(e.kind).toBe("InvalidArgument");
      const big = await failure(() => store.update(ctx, { name: "p", labels: { k: "v".repeat(4096) } }, ["labels.k"]));
      expect(big.kind).toBe("InvalidArgument");
      expect((await store.get(ctx, "p")).target).toEqual(indexTarget);
    });

    it("deletes, with and without sync", async () => {
      await store.create(ctx, image("d1"));
      await store.create(ctx, image("d2"));
      await store.delete(ctx, "d1");
      await store.delete(ctx, "d2", { sync: true });
      expect(await store.list(ctx)).toEqual([]);
      expect((await failure(() => store.get(ctx, "d1"))).kind).toBe("NotFound");
      await store.create(ctx, image("d1", { target: manifestTarget }));
      expect((await store.get(ctx, "d1")).target).toEqual(manifestTarget);
    });

    it("honours a cancelled context", async () => {
      const ac = new AbortController();
      ac.abort();
      const e = await failure(() => store.list({ ...ctx, signal: ac.signal }));
      expect(e.kind === "Canceled" || e.kind === "Unknown" || e.message.includes("abort")).toBe(true);
    });
  });
}
