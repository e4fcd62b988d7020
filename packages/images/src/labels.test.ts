import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { Descriptor } from "@containerts/content";
import { LocalContentStore } from "@containerts/content/local";
import { isNotImplemented } from "@containerts/errdefs";
import { background } from "@containerts/namespaces";

import {
  MediaType,
  childGcLabels,
  childGcLabelsFilterLayers,
  childrenGcLabels,
  childrenHandler,
  diffCompression,
  isConfigType,
  isDockerType,
  isIndexType,
  isKnownConfig,
  isLayerType,
  isManifestType,
  isNonDistributable,
  setChildrenLabels,
  walk,
} from "./index.js";
import { buildTestImage, writeTestImage } from "./testsuite/index.js";

const d = (mediaType: string, c: string): Descriptor => ({ mediaType, digest: `sha256:${c.repeat(64)}`, size: 1 });

describe("gc labels of a parent blob", () => {
  it("names each child by kind with containerd's key-suffix rule", () => {
    expect(childrenGcLabels([d(MediaType.OciManifest, "1"), d(MediaType.DockerManifest, "2")])).toEqual({
      "containerd.io/gc.ref.content.m.0": d("", "1").digest,
      "containerd.io/gc.ref.content.m.1": d("", "2").digest,
    });
    expect(childrenGcLabels([d(MediaType.OciConfig, "c"), d(MediaType.OciLayerGzip, "a"), d(MediaType.DockerLayer, "b")])).toEqual({
      "containerd.io/gc.ref.content.config": d("", "c").digest,
      "containerd.io/gc.ref.content.l.0": d("", "a").digest,
      "containerd.io/gc.ref.content.l.1": d("", "b").digest,
    });
    // A bare key repeats as key1, key2…; other children are numbered under the plain prefix.
    expect(childrenGcLabels([d(MediaType.DockerConfig, "1"), d(MediaType.OciConfig, "2"), d("application/x-foo", "3"), d(MediaType.OciIndex, "4")])).toEqual({
      "containerd.io/gc.ref.content.config": d("", "1").digest,
      "containerd.io/gc.ref.content.config1": d("", "2").digest,
      "containerd.io/gc.ref.content.0": d("", "3").digest,
      "containerd.io/gc.ref.content.1": d("", "4").digest,
    });
    expect(childGcLabels(d(MediaType.ContainerdCheckpointConfig, "1"))).toEqual(["containerd.io/gc.ref.content.config"]);
    expect(childGcLabelsFilterLayers(d(MediaType.OciLayer, "1"))).toEqual([]);
    expect(childrenGcLabels([d(MediaType.OciConfig, "c"), d(MediaType.OciLayer, "a")], childGcLabelsFilterLayers)).toEqual({
      "containerd.io/gc.ref.content.config": d("", "c").digest,
    });
  });

  describe("setChildrenLabels", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "images-labels-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("labels each parent through the content manager as a walk goes", async () => {
      const store = await LocalContentStore.open(dir);
      const ctx = background();
      const image = buildTestImage();
      await writeTestImage(store, ctx, image, { gcLabels: false, labels: { keep: "me" } });
      await walk(ctx, setChildrenLabels(store, childrenHandler(store)), [image.target]);
      expect((await store.info(ctx, image.target.digest)).labels).toEqual({
        keep: "me",
        "containerd.io/gc.ref.content.m.0": image.manifests[0]!.descriptor.digest,
        "containerd.io/gc.ref.content.m.1": image.manifests[1]!.descriptor.digest,
      });
      const m = image.manifests[1]!;
      expect((await store.info(ctx, m.descriptor.digest)).labels).toEqual({
        keep: "me",
        "containerd.io/gc.ref.content.config": m.config.digest,
        "containerd.io/gc.ref.content.l.0": m.layers[0]!.digest,
        "containerd.io/gc.ref.content.l.1": m.layers[1]!.digest,
      });
      expect((await store.info(ctx, m.config.digest)).labels).toEqual({ keep: "me" });
    });
  });
});

describe("media types", () => {
  it("classifies documents and layers", () => {
    expect(isIndexType(MediaType.OciIndex) && isIndexType(MediaType.DockerManifestList)).toBe(true);
    expect(isManifestType(MediaType.OciManifest) && isManifestType(MediaType.DockerManifest)).toBe(true);
    expect(isManifestType(MediaType.DockerSchema1Manifest)).toBe(false);
    expect(isConfigType(MediaType.OciConfig) && isConfigType(MediaType.DockerConfig)).toBe(true);
    expect(isKnownConfig(MediaType.ContainerdCheckpoint)).toBe(true);
    for (const mt of [MediaType.OciLayer, MediaType.OciLayerZstd, MediaType.OciLayerNonDistributableGzip, MediaType.DockerLayerGzip, MediaType.DockerLayerForeign, MediaType.OciLayerGzipEncrypted]) {
      expect(isLayerType(mt), mt).toBe(true);
    }
    expect(isLayerType(MediaType.OciConfig)).toBe(false);
    expect(isNonDistributable(MediaType.DockerLayerForeignGzip) && isNonDistributable(MediaType.OciLayerNonDistributable)).toBe(true);
    expect(isNonDistributable(MediaType.OciLayer)).toBe(false);
    expect(isDockerType(MediaType.DockerConfig)).toBe(true);
    expect(isDockerType(MediaType.OciConfig)).toBe(false);
  });

  it("tells a layer's compression like DiffCompression", () => {
    expect(diffCompression(MediaType.OciLayer)).toBe("");
    expect(diffCompression(MediaType.OciLayerGzip)).toBe("gzip");
    expect(diffCompression(MediaType.OciLayerZstd)).toBe("zstd");
    expect(diffCompression(MediaType.OciLayerNonDistributableGzip)).toBe("gzip");
    expect(diffCompression(MediaType.DockerLayer)).toBe("unknown");
    expect(diffCompression(MediaType.DockerLayerGzip)).toBe("gzip");
    expect(diffCompression(`${MediaType.DockerLayerGzip}+encrypted`)).toBe("");
    expect(diffCompression(MediaType.OciLayerEncrypted)).toBe("");
    let err: unknown;
    try {
      diffCompression(MediaType.OciConfig);
    } catch (e) {
      err = e;
    }
    expect(isNotImplemented(err)).toBe(true);
    expect((err as Error).message).toBe(`unrecognised mediatype ${MediaType.OciConfig}: not implemented`);
  });
});
