import { describe, expect, it } from "vitest";

import { adaptContainer, parseContainerFilters } from "./filters.js";

const c = {
  id: "web",
  image: "",
  runtime: { name: "io.containerd.runc.v2" },
  labels: { "containerd.io/restart.status": "running", "a.b": "dotted" },
};

describe("container filters", () => {
  it.each<[string, boolean]>([
    ["id==web", true],
    ["id.anything==web", true],
    ["id==db", false],
    ["image", false],
    ['image==""', false],
    ["image!=x", true],
    ["runtime", false],
    ["runtime.name==io.containerd.runc.v2", true],
    ["runtime.name.x==io.containerd.runc.v2", true],
    ["runtime.options", false],
    ['labels."containerd.io/restart.status"==running', true],
    ["labels.a.b==dotted", true],
    ["labels.missing", false],
    ["snapshotter", false],
    ["", true],
  ])("%s → %s", (filter, expected) => {
    expect(parseContainerFilters([filter]).match(adaptContainer(c))).toBe(expected);
  });

  it("ORs filter strings and matches everything without filters", () => {
    expect(parseContainerFilters(["id==db", "runtime.name~=runc"]).match(adaptContainer(c))).toBe(true);
    expect(parseContainerFilters([]).match(adaptContainer(c))).toBe(true);
  });

  it("reports parse errors as InvalidArgument", () => {
    expect(() => parseContainerFilters(["id=="])).toThrow(/^filters: parse error: .*: invalid argument$/);
  });
});
