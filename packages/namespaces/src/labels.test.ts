import { isInvalidArgument } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";
import { applyLabelPaths, cleanLabels, isLabelPath, validateLabel, validateLabels } from "./labels.js";

function message(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(isInvalidArgument(err)).toBe(true);
    return (err as Error).message;
  }
}

// containerd's labels/validate_test.go, plus byte counting with multibyte characters
describe("validateLabel", () => {
  it("accepts key and value up to 4096 bytes together", () => {
    expect(message(() => validateLabel("k".repeat(4096), ""))).toBeUndefined();
    expect(message(() => validateLabel("key", "v".repeat(4093)))).toBeUndefined();
    expect(message(() => validateLabel("", ""))).toBeUndefined();
  });

  it("rejects more than 4096 bytes with containerd's message and the first 10 bytes of the key", () => {
    expect(message(() => validateLabel("key", "v".repeat(4094)))).toBe(
      "label key and value greater than maximum size (4096 bytes), key: key: invalid argument",
    );
    expect(message(() => validateLabel("k".repeat(4097), ""))).toBe(
      "label key and value greater than maximum size (4096 bytes), key: kkkkkkkkkk: invalid argument",
    );
  });

  it("counts UTF-8 bytes, not characters", () => {
    // "é" is 2 bytes, "😀" 4 bytes (two UTF-16 units)
    expect(message(() => validateLabel("k", "é".repeat(2047)))).toBeUndefined(); // 1 + 4094
    expect(message(() => validateLabel("k", "é".repeat(2048)))).toMatch(/greater than maximum size/); // 1 + 4096
    expect(message(() => validateLabel("😀".repeat(1024), ""))).toBeUndefined(); // 4096
    expect(message(() => validateLabel("😀".repeat(1024), "x"))).toMatch(/greater than maximum size/);
  });

  it("cuts the key at 10 bytes even inside a character", () => {
    // 5 × "é" = 10 bytes: exactly the key prefix
    expect(message(() => validateLabel("ééééééé", "v".repeat(4096)))).toBe(
      "label key and value greater than maximum size (4096 bytes), key: ééééé: invalid argument",
    );
    // "a" + 5 × "é": the 10th byte is half of an "é", which a UTF-8 reader sees as U+FFFD
    expect(message(() => validateLabel("aéééééé", "v".repeat(4096)))).toBe(
      "label key and value greater than maximum size (4096 bytes), key: aéééé\ufffd: invalid argument",
    );
  });
});

describe("validateLabels", () => {
  it("checks every label", () => {
    expect(message(() => validateLabels({ a: "1", b: "2" }))).toBeUndefined();
    expect(message(() => validateLabels({ a: "1", big: "x".repeat(5000) }))).toMatch(/key: big: invalid argument$/);
  });
});

describe("cleanLabels", () => {
  it("drops empty values and copies", () => {
    const input = { a: "1", b: "", c: "3" };
    const out = cleanLabels(input);
    expect(out).toEqual({ a: "1", c: "3" });
    expect(out).not.toBe(input);
    expect(cleanLabels(undefined)).toEqual({});
  });

  it("keeps __proto__ as a plain key", () => {
    const input = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    const out = cleanLabels(input);
    expect(Object.keys(out)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});

describe("applyLabelPaths", () => {
  const current = { keep: "1", change: "old", drop: "x" };

  it("without a mask, replaces all labels", () => {
    expect(applyLabelPaths(current, { change: "new", extra: "e", empty: "" }, [])).toEqual({
      change: "new",
      extra: "e",
    });
  });

  it("with labels.<key> paths, sets or deletes single keys", () => {
    expect(
      applyLabelPaths(current, { change: "new", drop: "", add: "a", ignored: "i" }, [
        "labels.change",
        "labels.drop",
        "labels.add",
        "labels.absent",
      ]),
    ).toEqual({ keep: "1", change: "new", add: "a" });
  });

  it("takes everything after the first 'labels.' as the key", () => {
    expect(
      applyLabelPaths({}, { "containerd.io/gc.ref.content.0": "sha256:x", "a.labels.b": "y" }, [
        "labels.containerd.io/gc.ref.content.0",
        "labels.a.labels.b",
      ]),
    ).toEqual({ "containerd.io/gc.ref.content.0": "sha256:x", "a.labels.b": "y" });
  });

  it("with the labels path, replaces the whole map", () => {
    expect(applyLabelPaths(current, { only: "o", e: "" }, ["labels"])).toEqual({ only: "o" });
  });

  it("applies paths in order", () => {
    expect(applyLabelPaths(current, { only: "o" }, ["labels.keep", "labels"])).toEqual({ only: "o" });
    expect(applyLabelPaths(current, { only: "o", keep: "2" }, ["labels", "labels.keep"])).toEqual({
      only: "o",
      keep: "2",
    });
  });

  it("drops empty values already stored", () => {
    expect(applyLabelPaths({ a: "", b: "1" }, {}, ["labels.c"])).toEqual({ b: "1" });
  });

  it("rejects other paths with InvalidArgument", () => {
    expect(message(() => applyLabelPaths(current, {}, ["labels.a", "size"]))).toBe(
      'cannot update "size" field: invalid argument',
    );
    expect(message(() => applyLabelPaths(current, {}, ["labelsx"]))).toBe('cannot update "labelsx" field: invalid argument');
    expect(message(() => applyLabelPaths(current, {}, ["size"], { object: 'content info "sha256:abc"' }))).toBe(
      'cannot update "size" field on content info "sha256:abc": invalid argument',
    );
  });

  it("supports another prefix", () => {
    expect(applyLabelPaths({ a: "1" }, { b: "2" }, ["annotations.b"], "annotations")).toEqual({ a: "1", b: "2" });
    expect(message(() => applyLabelPaths({}, {}, ["labels.b"], "annotations"))).toBe(
      'cannot update "labels.b" field: invalid argument',
    );
  });

  it("can refuse the bare prefix, as the namespaces service does", () => {
    expect(message(() => applyLabelPaths({}, {}, ["labels"], { allowWhole: false }))).toBe(
      'cannot update "labels" field: invalid argument',
    );
    expect(applyLabelPaths({ a: "1" }, { b: "2" }, ["labels.b"], { allowWhole: false })).toEqual({ a: "1", b: "2" });
  });

  it("can skip paths the caller handles, keeping the mask semantics", () => {
    expect(applyLabelPaths(current, { x: "y" }, ["target", "image"], { ignoreOtherPaths: true })).toEqual(current);
    expect(applyLabelPaths(current, { x: "y" }, ["target", "labels.x"], { ignoreOtherPaths: true })).toEqual({
      ...current,
      x: "y",
    });
  });

  it("does not modify its inputs", () => {
    const cur = { a: "1" };
    const upd = { a: "", b: "2" };
    applyLabelPaths(cur, upd, ["labels.a", "labels.b"]);
    applyLabelPaths(cur, upd, []);
    expect(cur).toEqual({ a: "1" });
    expect(upd).toEqual({ a: "", b: "2" });
  });

  it("isLabelPath recognises the prefix and key paths", () => {
    expect(isLabelPath("labels")).toBe(true);
    expect(isLabelPath("labels.a")).toBe(true);
    expect(isLabelPath("labelsa")).toBe(false);
    expect(isLabelPath("annotations.x", "annotations")).toBe(true);
  });
});
