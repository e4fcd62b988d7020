import { isInvalidArgument } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";
import type { InitContext } from "./init-context.js";
import { PluginType, ServiceId } from "./plugin-type.js";
import { type AnyRegistration, type Registration, uri } from "./registration.js";
import { Registry, createRegistry } from "./registry.js";

function reg(type: string, id: string, requires?: readonly string[]): AnyRegistration {
  return requires === undefined
    ? { type, id, init: async () => id }
    : { type, id, requires, init: async () => id };
}

const ids = (rs: readonly AnyRegistration[]): string[] => rs.map((r) => r.id);

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

describe("uri", () => {
  it("joins type and id with a dot", () => {
    expect(uri({ type: PluginType.Content, id: "content" })).toBe("io.containerd.content.v1.content");
  });
});

describe("Registry.register", () => {
  it("returns a new registry and leaves the old one unchanged", () => {
    const a = Registry.empty();
    const b = a.register(reg("t.a", "one"));
    const c = b.register(reg("t.a", "two"));
    expect(a.size).toBe(0);
    expect(ids(b.registrations)).toEqual(["one"]);
    expect(ids(c.registrations)).toEqual(["one", "two"]);
    expect(c.get("t.a.two")?.id).toBe("two");
    expect(b.get("t.a.two")).toBeUndefined();
    expect(Object.isFrozen(c.registrations)).toBe(true);
  });

  it.each([
    ["an empty type", reg("", "x"), /no type/],
    ["an empty id", reg("t.a", ""), /plugin of type t\.a: no id/],
    ['"*" with other requirements', reg("t.a", "x", ["*", "t.b"]), /"\*" must be the only requirement/],
    ["a plugin requiring its own type", reg("t.a", "x", ["t.b", "t.a"]), /cannot require its own type t\.a/],
    ["an empty required type", reg("t.a", "x", [""]), /invalid requires/],
  ])("rejects %s with InvalidArgumentError", (_name, r, message) => {
    const err = thrown(() => Registry.empty().register(r));
    expect(isInvalidArgument(err)).toBe(true);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/invalid argument$/);
  });

  it("rejects a registration without an init function", () => {
    const bad = { type: "t.a", id: "x" } as unknown as AnyRegistration;
    expect(() => Registry.empty().register(bad)).toThrow(/t\.a\.x: plugin: init is not a function/);
  });

  it("rejects a duplicate URI, also within one call, and registers nothing", () => {
    const base = createRegistry([reg("t.a", "x")]);
    const err = thrown(() => base.register(reg("t.a", "x")));
    expect(isInvalidArgument(err)).toBe(true);
    expect(err.message).toBe("t.a.x: plugin: id already registered: invalid argument");
    expect(() => Registry.empty().register(reg("t.b", "y"), reg("t.c", "z"), reg("t.b", "y"))).toThrow(
      /t\.b\.y: plugin: id already registered/,
    );
    expect(base.size).toBe(1);
  });

  it("allows the same id under different types", () => {
    const r = createRegistry([reg(PluginType.GRPC, "content"), reg(PluginType.Content, "content")]);
    expect(r.size).toBe(2);
  });

  it("accepts registrations whose config is an interface type", () => {
    interface GcConfig {
      pauseThreshold: number;
      scheduleDelay: string;
    }
    const gc: Registration<{ run(): void }, GcConfig> = {
      type: PluginType.GC,
      id: "scheduler",
      config: { pauseThreshold: 0.02, scheduleDelay: "0s" },
      init: async (ic: InitContext<GcConfig>) => ({ run: () => void ic.config.pauseThreshold }),
    };
    const list: readonly AnyRegistration[] = [gc];
    expect(createRegistry(list).get("io.containerd.gc.v1.scheduler")).toBe(gc);
  });
});

describe("registration arrays as packages export them", () => {
  it("compose with `as const satisfies readonly Registration[]`", async () => {
    interface ContentStore {
      info(dgst: string): Promise<unknown>;
    }
    interface ContentStoreSource {
      contentStore(): ContentStore;
    }
    const store: ContentStore = { info: async () => ({}) };
    const contentPlugins = [
      { type: PluginType.Content, id: "content", init: async (ic) => ({ root: ic.properties.rootDir, store }) },
      {
        type: PluginType.Service,
        id: ServiceId.Content,
        requires: [PluginType.Metadata],
        init: async (ic) => ic.getSingle<ContentStoreSource>(PluginType.Metadata).contentStore(),
      },
      {
        type: PluginType.GRPC,
        id: "content",
        requires: [PluginType.Service],
        init: async (ic) => ({ store: ic.getById<ContentStore>(PluginType.Service, ServiceId.ContentService) }),
      },
    ] as const satisfies readonly Registration[];
    expect(createRegistry(contentPlugins).graph().map(uri)).toEqual([
      "io.containerd.content.v1.content",
      "io.containerd.service.v1.content-service",
      "io.containerd.grpc.v1.content",
    ]);
  });
});

describe("Registry.graph", () => {
  it("keeps registration order when there are no requirements", () => {
    const r = createRegistry([reg("t.c", "c"), reg("t.a", "a"), reg("t.b", "b")]);
    expect(ids(r.graph())).toEqual(["c", "a", "b"]);
  });

  it("puts every plugin of a required type first, depth first, in registration order", () => {
    const r = createRegistry([
      reg("svc", "images", ["meta"]),
      reg("grpc", "images", ["svc"]),
      reg("snap", "overlayfs"),
      reg("meta", "bolt", ["content", "snap"]),
      reg("content", "content"),
      reg("snap", "native"),
      reg("other", "alone"),
    ]);
    expect(r.graph().map(uri)).toEqual([
      "content.content",
      "snap.overlayfs",
      "snap.native",
      "meta.bolt",
      "svc.images",
      "grpc.images",
      "other.alone",
    ]);
  });

  it('puts a "*" plugin after everything else, and several "*" plugins in registration order', () => {
    const r = createRegistry([
      reg("int", "last", ["*"]),
      reg("t.a", "a"),
      reg("int", "later", ["*"]),
      reg("t.b", "b", ["t.a"]),
      reg("t.c", "c"),
    ]);
    expect(ids(r.graph())).toEqual(["a", "b", "c", "last", "later"]);
  });

  it("is deterministic", () => {
    const regs = [reg("x", "1", ["y"]), reg("y", "2", ["z"]), reg("z", "3"), reg("w", "4", ["*"])];
    const r = createRegistry(regs);
    expect(ids(r.graph())).toEqual(ids(r.graph()));
    expect(ids(r.graph())).toEqual(["3", "2", "1", "4"]);
  });

  it("does not fail on a required type that nobody provides", () => {
    const r = createRegistry([reg("svc", "x", ["missing.type"])]);
    expect(ids(r.graph())).toEqual(["x"]);
  });

  it("leaves out disabled plugins, by URI list or predicate, but keeps their dependents", () => {
    const r = createRegistry([reg("a", "1"), reg("b", "2", ["a"]), reg("c", "3")]);
    expect(ids(r.graph(["a.1"]))).toEqual(["2", "3"]);
    expect(ids(r.graph((x) => x.type === "c"))).toEqual(["1", "2"]);
    expect(ids(r.graph([]))).toEqual(["1", "2", "3"]);
  });

  it("throws an error naming the plugins of a cycle", () => {
    const r = createRegistry([reg("x", "free"), reg("a", "1", ["b"]), reg("b", "2", ["c"]), reg("c", "3", ["a"])]);
    const err = thrown(() => r.graph());
    expect(isInvalidArgument(err)).toBe(true);
    expect(err.message).toBe("plugin dependency cycle: a.1 -> b.2 -> c.3 -> a.1: invalid argument");
  });

  it('reports a cycle through a "*" plugin', () => {
    const r = createRegistry([reg("int", "all", ["*"]), reg("t", "x", ["int"])]);
    expect(() => r.graph()).toThrow(/plugin dependency cycle: int\.all -> t\.x -> int\.all/);
  });

  it("breaks a cycle by disabling one of its plugins", () => {
    const r = createRegistry([reg("a", "1", ["b"]), reg("b", "2", ["a"])]);
    expect(ids(r.graph(["b.2"]))).toEqual(["1"]);
  });
});
