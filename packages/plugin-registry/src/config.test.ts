import { isInvalidArgument } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";
import { mergePluginConfig } from "./config.js";

describe("mergePluginConfig", () => {
  it("returns a copy of the defaults when there is no section", () => {
    const defaults = { a: 1, nested: { list: [1, 2] } };
    const { config, warnings } = mergePluginConfig("t.x", defaults, undefined);
    expect(config).toEqual(defaults);
    expect(config).not.toBe(defaults);
    expect(config.nested.list).not.toBe(defaults.nested.list);
    expect(warnings).toEqual([]);
  });

  it("merges tables deeply and replaces arrays and scalars", () => {
    const defaults = { root: "", shared: true, list: ["a", "b"], deep: { x: { y: 1, z: 2 }, keep: "k" } };
    const { config } = mergePluginConfig("t.x", defaults, { shared: false, list: ["c"], deep: { x: { z: 9 } } });
    expect(config).toEqual({ root: "", shared: false, list: ["c"], deep: { x: { y: 1, z: 9 }, keep: "k" } });
    expect(defaults.deep.x.z).toBe(2);
  });

  it("drops and reports unknown keys with their dotted path", () => {
    const { config, warnings } = mergePluginConfig("t.x", { a: 1, t: { b: 2 } }, { a: 2, z: 0, t: { b: 3, q: 1 } });
    expect(config).toEqual({ a: 2, t: { b: 3 } });
    expect(warnings).toEqual([
      { plugin: "t.x", key: "z", message: "unknown key ignored" },
      { plugin: "t.x", key: "t.q", message: "unknown key ignored" },
    ]);
  });

  it("treats an empty table default as a map and a null default as any value", () => {
    const defaults = { runtimes: {} as Record<string, unknown>, address: null as string | null };
    const { config, warnings } = mergePluginConfig("t.x", defaults, {
      runtimes: { runc: { type: "io.containerd.runc.v2" } },
      address: "/run/x.sock",
    });
    expect(config).toEqual({ runtimes: { runc: { type: "io.containerd.runc.v2" } }, address: "/run/x.sock" });
    expect(warnings).toEqual([]);
  });

  it("keeps TOML datetimes as dates", () => {
    const when = new Date("2024-01-02T03:04:05Z");
    const { config } = mergePluginConfig("t.x", { since: new Date(0) }, { since: when });
    expect(config.since).toEqual(when);
  });

  it.each([
    [{ n: 1 }, { n: "1" }, "key n: expected number, got string"],
    [{ t: { a: 1 } }, { t: [1] }, "key t: expected table, got array"],
    [{ l: [1] }, { l: { a: 1 } }, "key l: expected array, got table"],
    [{ d: { e: true } }, { d: { e: 1 } }, "key d.e: expected boolean, got number"],
  ])("rejects a value of the wrong kind (%j <- %j)", (defaults, section, message) => {
    let err: unknown;
    try {
      mergePluginConfig("t.x", defaults as object, section);
    } catch (e) {
      err = e;
    }
    expect(isInvalidArgument(err)).toBe(true);
    expect((err as Error).message).toBe(`plugin t.x config: ${message}: invalid argument`);
  });

  it("rejects a section that is not a table", () => {
    expect(() => mergePluginConfig("t.x", { a: 1 }, 5)).toThrow("plugin t.x config: section must be a table, got number");
  });

  it("reports every key of a section for a plugin without configuration", () => {
    const { config, warnings } = mergePluginConfig("t.x", undefined, { a: 1 });
    expect(config).toEqual({});
    expect(warnings).toEqual([{ plugin: "t.x", key: "a", message: "unknown key ignored: the plugin takes no configuration" }]);
  });
});
