import { describe, expect, it } from "vitest";
import { type Adaptor, adaptFields, adaptPrefix, allOf, alwaysTrue, anyOf, createSelector } from "./filter.js";
import { parseFilter } from "./parser.js";

describe("adaptFields", () => {
  const container = adaptFields(
    { id: "c1", image: "docker.io/library/busybox:latest", "runtime.name": "io.containerd.runc.v2", parent: "" },
    { labels: { "containerd.io/gc.root": "x", "a.b": "dotted" }, annotations: undefined, empty: {} },
  );

  it("reads plain and dotted fields", () => {
    expect(container.field(["id"])).toBe("c1");
    expect(container.field(["runtime", "name"])).toBe("io.containerd.runc.v2");
    expect(container.field(["runtime"])).toBeUndefined();
    expect(container.field(["nope"])).toBeUndefined();
    expect(container.field([])).toBeUndefined();
  });

  it("falls back to the longest known prefix, as containerd's adaptors ignore extra path elements", () => {
    expect(container.field(["id", "x"])).toBe("c1");
    expect(container.field(["runtime", "name", "x"])).toBe("io.containerd.runc.v2");
  });

  it("distinguishes an empty value (present) from undefined (absent)", () => {
    expect(container.field(["parent"])).toBe("");
    expect(parseFilter("parent").match(container)).toBe(true);
  });

  it("looks up maps with the rest of the path joined by dots", () => {
    expect(container.field(["labels", "containerd.io/gc.root"])).toBe("x");
    expect(container.field(["labels", "a", "b"])).toBe("dotted");
    expect(container.field(["labels", "a.b"])).toBe("dotted");
    expect(container.field(["labels", "missing"])).toBeUndefined();
    expect(container.field(["annotations", "x"])).toBeUndefined();
    expect(container.field(["empty", ""])).toBeUndefined();
    expect(parseFilter('labels."containerd.io/gc.root"==x,labels.a.b==dotted').match(container)).toBe(true);
  });

  it("never finds inherited properties", () => {
    expect(container.field(["labels", "constructor"])).toBeUndefined();
    expect(container.field(["toString"])).toBeUndefined();
    expect(container.field(["__proto__"])).toBeUndefined();
    expect(parseFilter("labels.constructor").match(container)).toBe(false);
  });
});

describe("adaptPrefix", () => {
  const event = adaptFields({ container_id: "c1" }, { labels: { k: "v" } });
  const envelope = adaptPrefix(adaptFields({ namespace: "default", topic: "/tasks/exit" }), { event });

  it("routes prefixed paths to their adaptor", () => {
    expect(envelope.field(["event", "container_id"])).toBe("c1");
    expect(envelope.field(["event", "labels", "k"])).toBe("v");
    expect(envelope.field(["event"])).toBeUndefined();
    expect(envelope.field(["topic"])).toBe("/tasks/exit");
    expect(parseFilter('namespace==default,topic=="/tasks/exit",event.container_id==c1').match(envelope)).toBe(true);
    expect(parseFilter("event.container_id==c2").match(envelope)).toBe(false);
  });
});

describe("filters and selectors", () => {
  const a: Adaptor = adaptFields({ x: "1" });

  it("combines with anyOf and allOf like containerd's Any and All", () => {
    const yes = createSelector(["x"], "==", "1");
    const no = createSelector(["x"], "==", "2");
    expect(anyOf([]).match(a)).toBe(false);
    expect(allOf([]).match(a)).toBe(true);
    expect(anyOf([no, yes]).match(a)).toBe(true);
    expect(allOf([no, yes]).match(a)).toBe(false);
    expect(alwaysTrue.match(a)).toBe(true);
  });

  it("exposes the parsed selector", () => {
    const s = createSelector(["labels", "k"], "~=", "^v");
    expect(s.fieldpath).toEqual(["labels", "k"]);
    expect(s.operator).toBe("~=");
    expect(s.value).toBe("^v");
  });

  it("compiles a regexp once and keeps using it", () => {
    const s = createSelector(["x"], "~=", "^1$");
    expect(s.match(a)).toBe(true);
    expect(s.match(adaptFields({ x: "2" }))).toBe(false);
  });
});
