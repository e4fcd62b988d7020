/**
 * `@containerts/containers/testsuite`: the conformance cases every {@link ContainerStore} implementation
 * runs (the metadata store, the proxy over gRPC), as vitest `describe`/`it` blocks.
 *
 * ```ts
 * containerStoreSuite("metadata", async () => {
 *   const db = await DB.open(new MemoryLevel());
 *   return { store: new MetadataContainerStore(db), cleanup: () => db.close() };
 * });
 * ```
 * @module
 */
import { kindOf } from "@containerts/errdefs";
import { type Context, background, withNamespace } from "@containerts/namespaces";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { AnyValue, Container, ContainerInput, ContainerStore } from "../container.js";
import { readSpec, specAny } from "../spec.js";

/** What a suite factory returns: a fresh, empty store and how to dispose of it. */
export interface ContainerStoreFixture {
  readonly store: ContainerStore;
  cleanup?(): Promise<void>;
}

const runcOptions: AnyValue = { typeUrl: "containerd.runc.v1.Options", value: new Uint8Array() };
const spec = specAny({ ociVersion: "1.0.2-dev", process: { args: ["sh", "-c", "true"], cwd: "/" }, root: { path: "rootfs" } });

async function thrown(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error, the call succeeded");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function bytes(a: AnyValue | undefined): number[] | undefined {
  return a === undefined ? undefined : [...a.value];
}

/** Runs the container store conformance cases against the stores `factory` makes (one per test). */
export function containerStoreSuite(name: string, factory: () => Promise<ContainerStoreFixture>): void {
  describe(`container store conformance: ${name}`, () => {
    let fx: ContainerStoreFixture;
    let store: ContainerStore;
    const ctx: Context = withNamespace(background(), "testsuite");
    const base = (id: string, extra: Partial<ContainerInput> = {}): ContainerInput => ({
      id,
      image: "docker.io/library/busybox:latest",
      runtime: { name: "io.containerd.runc.v2", options: runcOptions },
      spec,
      snapshotter: "overlayfs",
      snapshotKey: id,
      ...extra,
    });

    beforeEach(async () => {
      fx = await factory();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup?.();
    });

    it("creates a container and returns it byte for byte", async () => {
      const ext: AnyValue = { typeUrl: "example.com/Ext", value: new Uint8Array([0, 255, 10, 13]) };
      const created = await store.create(ctx, base("c1", { labels: { a: "1", "containerd.io/gc.root": "x", gone: "" }, extensions: { e: ext } }));
      expect(created.id).toBe("c1");
      expect(created.labels).toEqual({ a: "1", "containerd.io/gc.root": "x" });
      expect(created.createdAt.getTime()).toBe(created.updatedAt.getTime());
      expect(created.createdAt.getTime()).toBeGreaterThan(Date.UTC(2000, 0, 1));
      const got = await store.get(ctx, "c1");
      expect(got.spec?.typeUrl).toBe("types.containerd.io/opencontainers/runtime-spec/1/Spec");
      expect(bytes(got.spec)).toEqual(bytes(spec));
      expect(readSpec(got)).toEqual({ ociVersion: "1.0.2-dev", process: { args: ["sh", "-c", "true"], cwd: "/" }, root: { path: "rootfs" } });
      expect(got.runtime.name).toBe("io.containerd.runc.v2");
      expect(got.runtime.options?.typeUrl).toBe("containerd.runc.v1.Options");
      expect(bytes(got.runtime.options)).toEqual([]);
      expect(Object.keys(got.extensions)).toEqual(["e"]);
      expect(got.extensions["e"]?.typeUrl).toBe("example.com/Ext");
      expect(bytes(got.extensions["e"])).toEqual([0, 255, 10, 13]);
      expect(got).toMatchObject({ image: "docker.io/library/busybox:latest", snapshotter: "overlayfs", snapshotKey: "c1" });
      expect(got.createdAt.getTime()).toBe(created.createdAt.getTime());
    });

    it("creates a container without snapshot, image or runtime options", async () => {
      const c = await store.create(ctx, { id: "bare", runtime: { name: "io.containerts.tsrunc.v1" }, spec });
      expect(c).toMatchObject({ image: "", snapshotter: "", snapshotKey: "", labels: {}, extensions: {} });
      expect(c.runtime.options).toBeUndefined();
      expect((await store.get(ctx, "bare")).runtime.options).toBeUndefined();
    });

    it("refuses invalid containers with containerd's messages", async () => {
      const cases: [ContainerInput, string][] = [
        [base(""), "create container failed validation: container.ID: identifier must not be empty: invalid argument"],
        [
          base("bad/id"),
          'create container failed validation: container.ID: identifier "bad/id" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument',
        ],
        [base("c", { runtime: { name: "" } }), "create container failed validation: container.Runtime.Name must be set: invalid argument"],
        [{ id: "c", spec }, "create container failed validation: container.Runtime.Name must be set: invalid argument"],
        [{ id: "c", runtime: { name: "r" } }, "create container failed validation: container.Spec must be set: invalid argument"],
        [
          base("c", { snapshotter: "" }),
          "create container failed validation: container.Snapshotter must be set if container.SnapshotKey is set: invalid argument",
        ],
        [
          base("c", { extensions: { "": spec } }),
          "create container failed validation: container.Extension keys must not be zero-length: invalid argument",
        ],
        [
          base("c", { labels: { big: "v".repeat(4096) } }),
          "create container failed validation: containers.Labels: label key and value greater than maximum size (4096 bytes), key: big: invalid argument",
        ],
      ];
      for (const [input, message] of cases) {
        const err = await thrown(() => store.create(ctx, input));
        expect(kindOf(err), message).toBe("InvalidArgument");
        expect(err.message).toBe(message);
      }
      expect(await store.list(ctx)).toEqual([]);
    });

    it("refuses a duplicate id", async () => {
      await store.create(ctx, base("dup"));
      const err = await thrown(() => store.create(ctx, base("dup", { image: "other" })));
      expect(kindOf(err)).toBe("AlreadyExists");
      expect(err.message).toBe('container "dup": already exists');
      expect((await store.get(ctx, "dup")).image).toBe("docker.io/library/busybox:latest");
    });

    it("reports missing containers and namespaces", async () => {
      const missing = await thrown(() => store.get(ctx, "nope"));
      expect(kindOf(missing)).toBe("NotFound");
      expect(missing.message).toBe('container "nope" in namespace "testsuite": not found');
      expect(kindOf(await thrown(() => store.delete(ctx, "nope")))).toBe("NotFound");
      expect(kindOf(await thrown(() => store.update(ctx, base("nope"))))).toBe("NotFound");
      await store.create(ctx, base("other"));
      expect((await thrown(() => store.delete(ctx, "nope"))).message).toBe("container nope: not found");
      expect((await thrown(() => store.update(ctx, base("nope")))).message).toBe('container "nope": not found');

      const noNs = await thrown(() => store.get(background(), "other"));
      expect(kindOf(noNs)).toBe("FailedPrecondition");
      expect(noNs.message).toBe("namespace is required: failed precondition");
      expect(kindOf(await thrown(() => store.list(withNamespace(background(), "bad/ns"))))).toBe("InvalidArgument");
      expect(await store.list(withNamespace(background(), "elsewhere"))).toEqual([]);
      expect(kindOf(await thrown(() => store.get(withNamespace(background(), "elsewhere"), "other")))).toBe("NotFound");
    });

    it("updates the fields a mask names", async () => {
      const created = await store.create(ctx, base("u", { labels: { keep: "k", drop: "d" }, extensions: { x: spec } }));
      await sleep(2);
      const ext2: AnyValue = { typeUrl: "example.com/Two", value: new Uint8Array([2]) };
      const spec2 = specAny({ ociVersion: "1.0.2-dev", hostname: "two" });

      let u = await store.update(ctx, { id: "u", labels: { drop: "", added: "a" } }, ["labels.drop", "labels.added", "labels.absent"]);
      expect(u.labels).toEqual({ keep: "k", added: "a" });
      expect(u.createdAt.getTime()).toBe(created.createdAt.getTime());
      expect(u.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
      expect(u.image).toBe(created.image);

      u = await store.update(ctx, { id: "u", labels: { "dotted.key/with-slash": "v" } }, ["labels.dotted.key/with-slash"]);
      expect(u.labels["dotted.key/with-slash"]).toBe("v");

      u = await store.update(ctx, { id: "u", labels: { only: "1", empty: "" } }, ["labels"]);
      expect(u.labels).toEqual({ only: "1" });

      u = await store.update(ctx, { id: "u", image: "img2", snapshotKey: "key2", spec: spec2 }, ["image", "snapshotkey", "spec"]);
      expect(u).toMatchObject({ image: "img2", snapshotKey: "key2", snapshotter: "overlayfs" });
      expect(readSpec(u)).toEqual({ ociVersion: "1.0.2-dev", hostname: "two" });

      u = await store.update(ctx, { id: "u", extensions: { y: ext2 } }, ["extensions.y"]);
      expect(Object.keys(u.extensions).sort()).toEqual(["x", "y"]);
      expect(bytes(u.extensions["y"])).toEqual([2]);
      u = await store.update(ctx, { id: "u", extensions: { z: ext2 } }, ["extensions"]);
      expect(Object.keys(u.extensions)).toEqual(["z"]);

      // The mask leaves runtime and snapshotter alone even when the input differs.
      u = await store.update(ctx, { id: "u", runtime: { name: "other" }, snapshotter: "native", image: "img3" }, ["image"]);
      expect(u).toMatchObject({ image: "img3", snapshotter: "overlayfs", runtime: { name: "io.containerd.runc.v2" } });

      const got = await store.get(ctx, "u");
      expect(got.labels).toEqual(u.labels);
      expect(got.image).toBe("img3");
      expect(got.snapshotKey).toBe("key2");
    });

    it("replaces labels, spec, extensions, image and snapshot key without a mask", async () => {
      await store.create(ctx, base("n", { labels: { a: "1" }, extensions: { x: spec } }));
      const spec2 = specAny({ ociVersion: "1.0.2-dev", hostname: "n" });
      const u = await store.update(ctx, {
        id: "n",
        runtime: { name: "io.containerd.runc.v2" },
        snapshotter: "overlayfs",
        spec: spec2,
        labels: { b: "2" },
        image: "",
      });
      expect(u).toMatchObject({ labels: { b: "2" }, image: "", snapshotKey: "", extensions: {} });
      expect(readSpec(u)).toEqual({ ociVersion: "1.0.2-dev", hostname: "n" });
      // Runtime options are not part of an update.
      expect(u.runtime.options?.typeUrl).toBe("containerd.runc.v1.Options");
    });

    it("refuses immutable fields, unknown paths and invalid results", async () => {
      await store.create(ctx, base("im"));
      const cases: [ContainerInput, string[], string][] = [
        [base("im", { snapshotter: "native" }), [], "container.Snapshotter field is immutable: invalid argument"],
        [base("im", { runtime: { name: "io.containerts.tsrunc.v1" } }), [], "container.Runtime.Name field is immutable: invalid argument"],
        [base("im"), ["snapshotter"], 'cannot update "snapshotter" field on "im": invalid argument'],
        [base("im"), ["runtime.name"], 'cannot update "runtime.name" field on "im": invalid argument'],
        [base("im"), ["snapshot_key"], 'cannot update "snapshot_key" field on "im": invalid argument'],
        [{ id: "im" }, ["spec"], "update failed validation: container.Spec must be set: invalid argument"],
        [
          { id: "im", labels: { big: "v".repeat(4096) } },
          ["labels.big"],
          "update failed validation: containers.Labels: label key and value greater than maximum size (4096 bytes), key: big: invalid argument",
        ],
        [{ id: "im", extensions: { "": spec } }, ["extensions"], "update failed validation: container.Extension keys must not be zero-length: invalid argument"],
      ];
      for (const [input, paths, message] of cases) {
        const err = await thrown(() => store.update(ctx, input, paths));
        expect(kindOf(err), message).toBe("InvalidArgument");
        expect(err.message).toBe(message);
      }
      const got = await store.get(ctx, "im");
      expect(got.snapshotter).toBe("overlayfs");
      expect(got.labels).toEqual({});
      expect(kindOf(await thrown(() => store.update(ctx, { id: "" }, ["image"])))).toBe("InvalidArgument");
    });

    it("lists with filters", async () => {
      await store.create(ctx, base("web", { labels: { tier: "front", "containerd.io/restart.status": "running" } }));
      await store.create(ctx, base("db", { image: "redis", labels: { tier: "back" } }));
      await store.create(ctx, base("tmp", { image: "", runtime: { name: "io.containerts.tsrunc.v1" } }));
      const ids = async (filters: string[]) => (await store.list(ctx, filters)).map((c: Container) => c.id);
      expect(await ids([])).toEqual(["db", "tmp", "web"]);
      expect(await ids([""])).toEqual(["db", "tmp", "web"]);
      expect(await ids(["id==web"])).toEqual(["web"]);
      expect(await ids(["image==redis"])).toEqual(["db"]);
      expect(await ids(["image"])).toEqual(["db", "web"]);
      expect(await ids(["image!=redis"])).toEqual(["tmp", "web"]);
      expect(await ids(["runtime.name==io.containerts.tsrunc.v1"])).toEqual(["tmp"]);
      expect(await ids(["runtime.name~=^io\\.containerd\\."])).toEqual(["db", "web"]);
      expect(await ids(['labels."containerd.io/restart.status"==running'])).toEqual(["web"]);
      expect(await ids(["labels.tier==back", "id==tmp"])).toEqual(["db", "tmp"]);
      expect(await ids(["labels.tier,image==redis"])).toEqual(["db"]);
      expect(await ids(["snapshotter==overlayfs"])).toEqual([]);
      const err = await thrown(() => store.list(ctx, ["id=="]));
      expect(kindOf(err)).toBe("InvalidArgument");
      expect(err.message).toMatch(/^filters: parse error: /);
    });

    it("deletes", async () => {
      await store.create(ctx, base("d1"));
      await store.create(ctx, base("d2"));
      await store.delete(ctx, "d1");
      expect(kindOf(await thrown(() => store.get(ctx, "d1")))).toBe("NotFound");
      expect((await store.list(ctx)).map((c) => c.id)).toEqual(["d2"]);
      expect(kindOf(await thrown(() => store.delete(ctx, "d1")))).toBe("NotFound");
      // The id can be used again.
      expect((await store.create(ctx, base("d1", { image: "again" }))).image).toBe("again");
    });
  });
}
