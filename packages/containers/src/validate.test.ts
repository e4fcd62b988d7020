import { kindOf } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";

import type { Container, ContainerInput } from "./container.js";
import { specAny } from "./spec.js";
import { UPDATE_ALL_PATHS, applyContainerUpdate, normalizeContainer, validateContainer } from "./validate.js";

const spec = specAny({ ociVersion: "1.0.2-dev" });
const ok: ContainerInput = { id: "c", runtime: { name: "io.containerd.runc.v2" }, spec };

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

describe("validateContainer", () => {
  it.each<[string, ContainerInput, string]>([
    ["empty id", { ...ok, id: "" }, "container.ID: identifier must not be empty: invalid argument"],
    ["id with a slash", { ...ok, id: "a/b" }, 'container.ID: identifier "a/b" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument'],
    ["id too long", { ...ok, id: "a".repeat(77) }, `container.ID: identifier "${"a".repeat(77)}" greater than maximum length (76 characters): invalid argument`],
    ["empty extension key", { ...ok, extensions: { "": spec } }, "container.Extension keys must not be zero-length: invalid argument"],
    [
      "label too large",
      { ...ok, labels: { "0123456789abc": "v".repeat(4084) } },
      "containers.Labels: label key and value greater than maximum size (4096 bytes), key: 0123456789: invalid argument",
    ],
    ["no runtime", { id: "c", spec }, "container.Runtime.Name must be set: invalid argument"],
    ["empty runtime name", { ...ok, runtime: { name: "" } }, "container.Runtime.Name must be set: invalid argument"],
    ["no spec", { id: "c", runtime: { name: "r" } }, "container.Spec must be set: invalid argument"],
    ["snapshot key without snapshotter", { ...ok, snapshotKey: "k" }, "container.Snapshotter must be set if container.SnapshotKey is set: invalid argument"],
    // containerd checks in this order: id, extensions, labels, runtime, spec, snapshotter.
    ["several problems: the id first", { id: "", extensions: { "": spec } }, "container.ID: identifier must not be empty: invalid argument"],
    ["several problems: runtime before spec", { id: "c" }, "container.Runtime.Name must be set: invalid argument"],
  ])("%s", (_name, input, message) => {
    const err = errorOf(() => validateContainer(input));
    expect(kindOf(err)).toBe("InvalidArgument");
    expect(err.message).toBe(message);
  });

  it("accepts a minimal container, a label of exactly 4096 bytes, a snapshotter without key and any image", () => {
    validateContainer(ok);
    validateContainer({ ...ok, labels: { k: "v".repeat(4095) }, snapshotter: "overlayfs", image: "not a / valid ref" });
    validateContainer({ ...ok, id: "a".repeat(76) });
  });
});

describe("normalizeContainer", () => {
  it("fills zero values and copies Anys", () => {
    const now = new Date(1_700_000_000_000);
    const c = normalizeContainer(ok, now);
    expect(c).toEqual({
      id: "c",
      labels: {},
      image: "",
      runtime: { name: "io.containerd.runc.v2" },
      spec,
      snapshotter: "",
      snapshotKey: "",
      createdAt: now,
      updatedAt: now,
      extensions: {},
    });
    expect(c.spec?.value).not.toBe(spec.value);
  });
});

describe("applyContainerUpdate", () => {
  const t0 = new Date(1_000);
  const t1 = new Date(2_000);
  const stored: Container = {
    ...normalizeContainer({ ...ok, labels: { a: "1", b: "2" }, image: "i", snapshotter: "overlayfs", snapshotKey: "k", extensions: { x: spec } }, t0),
  };

  it("applies label, extension and field paths", () => {
    const ext = { typeUrl: "t", value: new Uint8Array([1]) };
    const u = applyContainerUpdate(
      stored,
      { id: "c", labels: { a: "", c: "3" }, extensions: { y: ext }, image: "j" },
      ["labels.a", "labels.c", "extensions.y", "extensions.x", "image"],
      t1,
    );
    expect(u.labels).toEqual({ b: "2", c: "3" });
    expect(Object.keys(u.extensions)).toEqual(["y"]);
    expect(u.image).toBe("j");
    expect(u.snapshotKey).toBe("k");
    expect(u.createdAt).toBe(t0);
    expect(u.updatedAt).toBe(t1);
    // The stored record is not modified.
    expect(stored.labels).toEqual({ a: "1", b: "2" });
    expect(Object.keys(stored.extensions)).toEqual(["x"]);
  });

  it("replaces the five fields without a mask, checking the immutable ones", () => {
    expect(UPDATE_ALL_PATHS).toEqual(["labels", "spec", "extensions", "image", "snapshotkey"]);
    const u = applyContainerUpdate(stored, { id: "c", runtime: { name: "io.containerd.runc.v2" }, snapshotter: "overlayfs", spec }, [], t1);
    expect(u).toMatchObject({ labels: {}, image: "", snapshotKey: "", extensions: {}, snapshotter: "overlayfs" });
    expect(errorOf(() => applyContainerUpdate(stored, { id: "c", runtime: { name: "io.containerd.runc.v2" }, spec })).message).toBe(
      "container.Snapshotter field is immutable: invalid argument",
    );
    expect(errorOf(() => applyContainerUpdate(stored, { id: "c", snapshotter: "overlayfs", spec })).message).toBe(
      "container.Runtime.Name field is immutable: invalid argument",
    );
  });

  it("rejects other paths and invalid results", () => {
    for (const p of ["runtime", "runtime.name", "snapshotter", "id", "createdat", "snapshot_key", "label"]) {
      expect(errorOf(() => applyContainerUpdate(stored, { id: "c" }, [p])).message).toBe(`cannot update "${p}" field on "c": invalid argument`);
    }
    expect(applyContainerUpdate(stored, { id: "c" }, ["snapshotkey"]).snapshotKey).toBe("");
    expect(errorOf(() => applyContainerUpdate(stored, { id: "c" }, ["spec"])).message).toBe(
      "update failed validation: container.Spec must be set: invalid argument",
    );
    expect(errorOf(() => applyContainerUpdate(stored, { id: "c", extensions: { "": spec } }, ["extensions."])).message).toBe(
      "update failed validation: container.Extension keys must not be zero-length: invalid argument",
    );
  });
});
