import { describe, expect, it } from "vitest";
import { isInvalidArgument } from "@containerts/errdefs";
import type { EventPayload, Publisher } from "@containerts/events";
import { type Context, background, parseFilters, withNamespace } from "@containerts/namespaces";

import { MediaType, applyImageUpdate, createImageService, imageAdaptor, validateTarget } from "./index.js";
import { MemoryImageStore, imageStoreSuite } from "./testsuite/index.js";

const digest = `sha256:${"d".repeat(64)}`;
const target = { mediaType: MediaType.OciIndex, digest, size: 10 };

imageStoreSuite("memory", async () => ({ store: new MemoryImageStore(), ctx: withNamespace(background(), "suite"), cleanup: async () => undefined }));

imageStoreSuite("service layer over memory", async () => ({
  store: createImageService(new MemoryImageStore()),
  ctx: withNamespace(background(), "suite"),
  cleanup: async () => undefined,
}));

function message(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(isInvalidArgument(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error("expected an error");
}

describe("target validation", () => {
  it("explains bad digests as go-digest does", () => {
    expect(message(() => validateTarget({ ...target, digest: "" }))).toBe('Target.Digest "" invalid: invalid checksum digest format: invalid argument');
    expect(message(() => validateTarget({ ...target, digest: "sha256:" }))).toMatch(/invalid checksum digest format/);
    expect(message(() => validateTarget({ ...target, digest: "md5:abcdef" }))).toMatch(/unsupported digest algorithm/);
    expect(message(() => validateTarget({ ...target, digest: "MD5:abc" }))).toMatch(/invalid checksum digest format/);
    expect(message(() => validateTarget({ ...target, digest: "sha256:abc" }))).toMatch(/invalid checksum digest length/);
    expect(message(() => validateTarget({ ...target, digest: `sha256:${"G".repeat(64)}` }))).toMatch(/invalid checksum digest format/);
    expect(message(() => validateTarget({ ...target, size: 2 ** 60 }))).toMatch(/not an integer below 2\^53/);
    expect(() => validateTarget(target)).not.toThrow();
  });
});

describe("update masks", () => {
  const current = { name: "x", labels: { a: "1" }, target: { ...target, annotations: { k: "v" } } };
  it("combines target replacement with single annotations, in order", () => {
    const other = { mediaType: MediaType.OciManifest, digest: `sha256:${"e".repeat(64)}`, size: 5, annotations: { o: "1" } };
    const r = applyImageUpdate(current, { name: "x", target: { ...other, annotations: { o: "1", p: "2" } } }, ["target", "annotations.p"]);
    expect(r.target).toEqual({ ...other, annotations: { o: "1", p: "2" } });
    const r2 = applyImageUpdate(current, { name: "x", target: other }, ["annotations.k", "target"]);
    expect(r2.target).toEqual(other);
  });

  it("strips urls and platform from a stored target", () => {
    const r = applyImageUpdate(current, { name: "x", target: { ...target, urls: ["http://x"], platform: { os: "linux", architecture: "amd64" } } });
    expect(r.target).toEqual(target);
  });
});

describe("image filter adaptor", () => {
  it("exposes name, target fields, labels and target annotations", () => {
    const image = { name: "n", labels: { "a.b": "c" }, target: { ...target, annotations: { "org.opencontainers.image.ref.name": "1.0" } } };
    const match = (f: string) => parseFilters([f]).match(imageAdaptor(image));
    expect(match("name==n")).toBe(true);
    expect(match(`target.digest==${digest}`)).toBe(true);
    expect(match("target.mediatype~=index")).toBe(true);
    expect(match("target")).toBe(false);
    expect(match("labels.a.b==c")).toBe(true);
    expect(match('annotations."org.opencontainers.image.ref.name"==1.0')).toBe(true);
    expect(match("annotations.missing")).toBe(false);
  });
});

describe("the service layer's events", () => {
  function recorder(): { publisher: Publisher; events: { ns: string | undefined; topic: string; event: EventPayload }[] } {
    const events: { ns: string | undefined; topic: string; event: EventPayload }[] = [];
    return { events, publisher: { publish: async (ctx: Context, topic, event) => void events.push({ ns: ctx.namespace, topic, event }) } };
  }

  it("publishes create, update and delete with containerd's topics, type URLs and fields", async () => {
    const { publisher, events } = recorder();
    const svc = createImageService(new MemoryImageStore(), { publisher });
    const ctx = withNamespace(background(), "ev");
    await svc.create(ctx, { name: "img", labels: { a: "1", e: "" }, target });
    await svc.update(ctx, { name: "img", labels: { b: "2" } }, ["labels.b"]);
    await svc.delete(ctx, "img", { sync: true });
    expect(events).toEqual([
      { ns: "ev", topic: "/images/create", event: { typeUrl: "containerd.services.images.v1.ImageCreate", message: { name: "img", labels: { a: "1" } } } },
      { ns: "ev", topic: "/images/update", event: { typeUrl: "containerd.services.images.v1.ImageUpdate", message: { name: "img", labels: { a: "1", b: "2" } } } },
      { ns: "ev", topic: "/images/delete", event: { typeUrl: "containerd.services.images.v1.ImageDelete", message: { name: "img" } } },
    ]);
  });

  it("publishes nothing for a failed change", async () => {
    const { publisher, events } = recorder();
    const svc = createImageService(new MemoryImageStore(), { publisher });
    const ctx = withNamespace(background(), "ev");
    await expect(svc.create(ctx, { name: "", target })).rejects.toThrow("Image.Name required");
    await expect(svc.update(ctx, { name: "nope", labels: {} })).rejects.toThrow(/not found/);
    await expect(svc.delete(ctx, "nope")).rejects.toThrow(/not found/);
    expect(events).toEqual([]);
  });

  it("fails the call when publishing fails, after the change", async () => {
    const store = new MemoryImageStore();
    const svc = createImageService(store, { publisher: { publish: async () => Promise.reject(new Error("exchange down")) } });
    const ctx = withNamespace(background(), "ev");
    await expect(svc.create(ctx, { name: "img", target })).rejects.toThrow("exchange down");
    expect((await store.get(ctx, "img")).name).toBe("img");
  });
});
