import { type ContainerInput, readSpec, specAny } from "@containerts/containers";
import { containerStoreSuite } from "@containerts/containers/testsuite";
import { writeBlob } from "@containerts/content";
import { kindOf } from "@containerts/errdefs";
import { background } from "@containerts/namespaces";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type Fixture, blob, createFixture, nsCtx, thrown } from "../test/helpers.js";
import { MetadataContainerStore, containersKind } from "./containers.js";
import { createNamespaceStore } from "./namespaces.js";
import { defineObjectKind, snapshotsKindName } from "./objects.js";
import { keys } from "./schema.js";

const spec = specAny({ ociVersion: "1.0.2", process: { args: ["sh"] } });
const runc = { name: "io.containerd.runc.v2", options: { typeUrl: "containerd.runc.v1.Options", value: new Uint8Array() } };

function input(id: string, extra: Partial<ContainerInput> = {}): ContainerInput {
  return { id, runtime: runc, spec, image: "docker.io/library/busybox:latest", snapshotter: "overlayfs", snapshotKey: id, ...extra };
}

containerStoreSuite("metadata", async () => {
  const fx = await createFixture();
  return { store: new MetadataContainerStore(fx.db), cleanup: () => fx.cleanup() };
});

describe("metadata container store", () => {
  let fx: Fixture;
  let store: MetadataContainerStore;
  const ctx = nsCtx("default");

  beforeEach(async () => {
    fx = await createFixture();
    store = new MetadataContainerStore(fx.db);
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  it("creates, gets, lists, updates and deletes", async () => {
    const ext = { typeUrl: "x.y.Z", value: new Uint8Array([0, 1, 2, 255]) };
    const created = await store.create(ctx, input("c1", { labels: { a: "1", empty: "" }, extensions: { e: ext } }));
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(created.updatedAt.getTime()).toBe(created.createdAt.getTime());
    expect(created.labels).toEqual({ a: "1" });

    const got = await store.get(ctx, "c1");
    expect(got).toEqual(created);
    expect(got.spec?.typeUrl).toBe("types.containerd.io/opencontainers/runtime-spec/1/Spec");
    expect(Buffer.from(got.spec!.value).equals(Buffer.from(spec.value))).toBe(true);
    expect(readSpec(got)).toEqual({ ociVersion: "1.0.2", process: { args: ["sh"] } });
    expect([...got.extensions["e"]!.value]).toEqual([0, 1, 2, 255]);
    expect(got.runtime).toEqual(runc);

    await store.create(ctx, input("c2", { image: "other", labels: { b: "2" } }));
    expect((await store.list(ctx)).map((c) => c.id)).toEqual(["c1", "c2"]);
    expect((await store.list(ctx, ["image==other"])).map((c) => c.id)).toEqual(["c2"]);
    expect((await store.list(ctx, ["labels.a==1", "labels.b"])).map((c) => c.id)).toEqual(["c1", "c2"]);
    expect((await store.list(ctx, ["runtime.name==io.containerd.runc.v2,id~=2$"])).map((c) => c.id)).toEqual(["c2"]);
    expect(await store.list(nsCtx("other"))).toEqual([]);

    await new Promise((r) => setTimeout(r, 2));
    const updated = await store.update(ctx, { id: "c1", labels: { a: "", n: "v" } }, ["labels.a", "labels.n"]);
    expect(updated.labels).toEqual({ n: "v" });
    expect(updated.createdAt).toEqual(created.createdAt);
    expect(updated.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
    expect(updated.image).toBe(created.image);
    expect(await store.get(ctx, "c1")).toEqual(updated);

    await store.delete(ctx, "c1");
    expect(kindOf(await thrown(() => store.get(ctx, "c1")))).toBe("NotFound");
    expect((await store.list(ctx)).map((c) => c.id)).toEqual(["c2"]);
  });

  it("answers with containerd's errors", async () => {
    const noNs = await thrown(() => store.list(background()));
    expect(noNs.message).toBe("namespace is required: failed precondition");

    const missing = await thrown(() => store.get(ctx, "nope"));
    expect(kindOf(missing)).toBe("NotFound");
    expect(missing.message).toBe('container "nope" in namespace "default": not found');

    const badId = await thrown(() => store.create(ctx, input("a/b")));
    expect(kindOf(badId)).toBe("InvalidArgument");
    expect(badId.message).toBe(
      'create container failed validation: container.ID: identifier "a/b" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument',
    );
    const noSpec = await thrown(() => store.create(ctx, { id: "x", runtime: runc }));
    expect(noSpec.message).toBe("create container failed validation: container.Spec must be set: invalid argument");

    // Namespace without containers: containerd's "bucket missing" wording.
    expect((await thrown(() => store.delete(ctx, "nope"))).message).toBe('cannot delete container "nope" in namespace "default": not found');
    expect((await thrown(() => store.update(ctx, input("nope")))).message).toBe(
      'cannot update container "nope" in namespace "default": not found',
    );

    await store.create(ctx, input("c1"));
    const dup = await thrown(() => store.create(ctx, input("c1")));
    expect(kindOf(dup)).toBe("AlreadyExists");
    expect(dup.message).toBe('container "c1": already exists');
    expect((await thrown(() => store.delete(ctx, "nope"))).message).toBe("container nope: not found");
    expect((await thrown(() => store.update(ctx, input("nope")))).message).toBe('container "nope": not found');
    expect((await thrown(() => store.update(ctx, { id: "" }))).message).toBe("must specify a container id: invalid argument");
    const immutable = await thrown(() => store.update(ctx, input("c1", { snapshotter: "native" })));
    expect(immutable.message).toBe("container.Snapshotter field is immutable: invalid argument");
    const badPath = await thrown(() => store.update(ctx, input("c1"), ["snapshotter"]));
    expect(badPath.message).toBe('cannot update "snapshotter" field on "c1": invalid argument');
    const cleared = await thrown(() => store.update(ctx, { id: "c1" }, ["spec"]));
    expect(cleared.message).toBe("update failed validation: container.Spec must be set: invalid argument");
    const badFilter = await thrown(() => store.list(ctx, ["id=="]));
    expect(kindOf(badFilter)).toBe("InvalidArgument");

    const ac = new AbortController();
    ac.abort();
    expect(kindOf(await thrown(() => store.get({ ...ctx, signal: ac.signal }, "c1")))).toBe("Canceled");
  });

  it("keeps a namespace that holds containers", async () => {
    await store.create(nsCtx("busy"), input("c1"));
    const err = await thrown(() => createNamespaceStore(fx.db).delete(background(), "busy"));
    expect(err.message).toBe('namespace "busy" must be empty, but it still has containers: failed precondition');
  });

  it("stores the record with its GC edges", async () => {
    await store.create(
      ctx,
      input("c1", {
        labels: { "containerd.io/gc.ref.content.cfg": "sha256:abc", "containerd.io/gc.ref.snapshot.native/x": "k2" },
      }),
    );
    const stored = await fx.db.view((tx) => tx.getJson<{ gc: unknown }>(keys.object("default", "containers", "c1")));
    expect(stored?.gc).toEqual({
      root: true,
      content: ["sha256:abc"],
      snapshots: [
        ["overlayfs", "c1"],
        ["native", "k2"],
      ],
    });
    expect(containersKind.name).toBe("containers");
  });

  it("garbage collection keeps the container's snapshot and the content its labels name", async () => {
    interface Snap {
      readonly backend: string;
      readonly parent?: string;
    }
    const overlay = defineObjectKind<Snap>({
      name: snapshotsKindName("overlayfs"),
      gcRefs: (r) => ({ backendKey: r.backend, parents: r.parent === undefined ? [] : [{ snapshotter: "overlayfs", key: r.parent }] }),
    });
    const backendKeys = new Set(["b-layer", "b-rootfs", "b-orphan"]);
    fx.db.registerSnapshotterCollector("overlayfs", {
      listKeys: async () => [...backendKeys],
      remove: async (ks) => {
        for (const k of ks) backendKeys.delete(k);
      },
    });
    await fx.db.update(async (tx) => {
      await tx.putRecord(overlay, "default", "layer", { backend: "b-layer" });
      await tx.putRecord(overlay, "default", "c1", { backend: "b-rootfs", parent: "layer" });
      await tx.putRecord(overlay, "default", "orphan", { backend: "b-orphan" });
    });
    const { bytes, dgst } = blob("checkpoint");
    await writeBlob(fx.db.contentStore(), ctx, "ref", bytes, { expected: dgst });
    await store.create(ctx, input("c1", { labels: { "containerd.io/gc.ref.content": dgst } }));

    await fx.db.garbageCollect();
    expect([...backendKeys].sort()).toEqual(["b-layer", "b-rootfs"]);
    expect((await fx.db.contentStore().info(ctx, dgst)).digest).toBe(dgst);

    await store.delete(ctx, "c1");
    await fx.db.garbageCollect();
    expect([...backendKeys]).toEqual([]);
    expect(kindOf(await thrown(() => fx.db.contentStore().info(ctx, dgst)))).toBe("NotFound");
  });
});
