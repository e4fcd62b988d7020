import { join } from "node:path";
import {
  isCanceled,
  isFailedPrecondition,
  isInvalidArgument,
  isNotFound,
  kindOf,
} from "@containerts/errdefs";
import { describe, expect, it } from "vitest";
import type { InitContext } from "./init-context.js";
import { initPlugins } from "./init-plugins.js";
import type { LogFields, Logger } from "./logger.js";
import type { PluginResult } from "./plugin-set.js";
import { PluginType, ServiceId } from "./plugin-type.js";
import type { AnyRegistration, Registration } from "./registration.js";
import { createRegistry } from "./registry.js";
import { SkipPluginError } from "./skip.js";

const base = { root: "/var/lib/test-root", state: "/run/test-state" };

function plugin(
  type: string,
  id: string,
  init: (ic: InitContext) => Promise<unknown> = async () => ({ id }),
  requires?: readonly string[],
): AnyRegistration {
  return requires === undefined ? { type, id, init } : { type, id, requires, init };
}

function summary(results: readonly PluginResult[]): string[] {
  return results.map((r) => `${r.uri} ${r.status}`);
}

interface Entry {
  level: string;
  msg: string;
  fields: LogFields | undefined;
}

function recordingLogger(): Logger & { entries: Entry[] } {
  const entries: Entry[] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => void entries.push({ level, msg, fields });
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

describe("initPlugins: order and results", () => {
  it("initializes strictly one at a time in graph order and lists every result", async () => {
    const events: string[] = [];
    let running = 0;
    const step = (name: string) => async () => {
      running++;
      expect(running).toBe(1);
      events.push(`start ${name}`);
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`end ${name}`);
      running--;
      return name;
    };
    const registry = createRegistry([
      plugin(PluginType.Service, "svc", step("svc"), [PluginType.Metadata]),
      plugin(PluginType.Metadata, "bolt", step("bolt"), [PluginType.Content]),
      plugin(PluginType.Content, "content", step("content")),
    ]);
    const set = await initPlugins(registry, base);
    expect(events).toEqual([
      "start content",
      "end content",
      "start bolt",
      "end bolt",
      "start svc",
      "end svc",
    ]);
    expect(summary(set.results)).toEqual([
      "io.containerd.content.v1.content ok",
      "io.containerd.metadata.v1.bolt ok",
      "io.containerd.service.v1.svc ok",
    ]);
    expect(set.size).toBe(3);
    expect([...set].map((r) => r.id)).toEqual(["content", "bolt", "svc"]);
    expect(set.get(PluginType.Metadata, "bolt")?.instance).toBe("bolt");
    expect(set.getByUri("io.containerd.content.v1.content")?.instance).toBe("content");
    expect(set.ofType(PluginType.Service).map((r) => r.id)).toEqual(["svc"]);
    expect(set.ofType("nothing")).toEqual([]);
    expect(set.results[2]?.requires).toEqual([PluginType.Metadata]);
  });

  it("passes lookups the instances of earlier plugins", async () => {
    const registry = createRegistry([
      plugin(PluginType.Snapshot, "overlayfs", async () => "overlay-snapshotter"),
      plugin(PluginType.Snapshot, "native", async () => "native-snapshotter"),
      plugin(PluginType.Content, "content", async () => ({ store: true })),
      plugin(
        PluginType.Metadata,
        "bolt",
        async (ic) => ({
          content: ic.getSingle<{ store: boolean }>(PluginType.Content),
          snapshotters: [...ic.getByType<string>(PluginType.Snapshot)],
          native: ic.getById<string>(PluginType.Snapshot, "native"),
          seen: ic.plugins().results.map((r) => r.id),
        }),
        [PluginType.Content, PluginType.Snapshot],
      ),
    ]);
    const set = await initPlugins(registry, base);
    expect(set.get(PluginType.Metadata, "bolt")?.instance).toEqual({
      content: { store: true },
      snapshotters: [
        ["overlayfs", "overlay-snapshotter"],
        ["native", "native-snapshotter"],
      ],
      native: "native-snapshotter",
      seen: ["overlayfs", "native", "content"],
    });
  });

  it("gives plugins a live view of the set that grows as later plugins initialize", async () => {
    let view: ReturnType<InitContext["plugins"]> | undefined;
    const registry = createRegistry([
      plugin(PluginType.Service, ServiceId.IntrospectionService, async (ic) => {
        view = ic.plugins();
        return "introspection";
      }),
      plugin(PluginType.GRPC, "version"),
    ]);
    const set = await initPlugins(registry, base);
    expect(view?.results.map((r) => r.id)).toEqual(["introspection-service", "version"]);
    expect(view?.size).toBe(2);
    expect(view && "close" in view).toBe(false);
    expect(set.size).toBe(2);
  });
});

describe("initPlugins: skip and error", () => {
  it("marks SkipPluginError as skip and any other error as error, keeping both listed", async () => {
    const registry = createRegistry([
      plugin(PluginType.Snapshot, "btrfs", async () => {
        throw new SkipPluginError("path /x must be a btrfs filesystem to be used with the btrfs snapshotter");
      }),
      plugin(PluginType.Snapshot, "devmapper", async () => {
        throw new Error("devmapper not configured");
      }),
      plugin(PluginType.Snapshot, "overlayfs"),
    ]);
    const set = await initPlugins(registry, base);
    expect(summary(set.results)).toEqual([
      "io.containerd.snapshotter.v1.btrfs skip",
      "io.containerd.snapshotter.v1.devmapper error",
      "io.containerd.snapshotter.v1.overlayfs ok",
    ]);
    const [btrfs, devmapper] = set.results;
    expect(btrfs?.error?.message).toBe(
      "path /x must be a btrfs filesystem to be used with the btrfs snapshotter: skip plugin",
    );
    expect(kindOf(btrfs?.error)).toBe("Unknown");
    expect(devmapper?.error?.message).toBe("devmapper not configured");
    expect(devmapper?.error?.message).not.toContain("skip plugin");
    expect(devmapper?.instance).toBeUndefined();
  });

  it("fails dependents of a failed plugin while unrelated plugins succeed", async () => {
    const registry = createRegistry([
      plugin(PluginType.Content, "content", async () => {
        throw new Error("open blobs: permission denied");
      }),
      plugin(PluginType.Metadata, "bolt", async (ic) => ic.getSingle(PluginType.Content), [PluginType.Content]),
      plugin(PluginType.Service, "images", async (ic) => ic.getSingle(PluginType.Metadata), [PluginType.Metadata]),
      plugin(PluginType.Event, "exchange"),
      plugin(PluginType.Service, "tolerant", async (ic) => ic.getByType(PluginType.Content).size, [PluginType.Content]),
    ]);
    const set = await initPlugins(registry, base);
    expect(summary(set.results)).toEqual([
      "io.containerd.content.v1.content error",
      "io.containerd.metadata.v1.bolt error",
      "io.containerd.service.v1.images error",
      "io.containerd.event.v1.exchange ok",
      "io.containerd.service.v1.tolerant ok",
    ]);
    const bolt = set.get(PluginType.Metadata, "bolt");
    expect(isFailedPrecondition(bolt?.error)).toBe(true);
    expect(bolt?.error?.message).toBe(
      "no io.containerd.content.v1 plugin available: io.containerd.content.v1.content failed to initialize " +
        "(open blobs: permission denied): failed precondition",
    );
    expect(set.get(PluginType.Service, "images")?.error?.message).toContain("io.containerd.metadata.v1.bolt failed");
    expect(set.get(PluginType.Service, "tolerant")?.instance).toBe(0);
  });

  it("fails a dependent of a skipped plugin without making it look skipped", async () => {
    const registry = createRegistry([
      plugin(PluginType.Snapshot, "zfs", async () => {
        throw new SkipPluginError("not a zfs dataset");
      }),
      plugin(PluginType.Service, "snap", async (ic) => ic.getById(PluginType.Snapshot, "zfs"), [PluginType.Snapshot]),
    ]);
    const set = await initPlugins(registry, base);
    const snap = set.get(PluginType.Service, "snap");
    expect(snap?.status).toBe("error");
    expect(snap?.error?.message).toBe(
      "required plugin io.containerd.snapshotter.v1.zfs was skipped (not a zfs dataset): failed precondition",
    );
    expect(snap?.error?.message).not.toContain("skip plugin");
  });

  it("fails a plugin whose required type has no registered plugin, naming the type", async () => {
    const registry = createRegistry([
      plugin(PluginType.GRPC, "tasks", async (ic) => ic.getSingle(PluginType.RuntimeV2), [PluginType.RuntimeV2]),
      plugin(PluginType.GRPC, "all", async (ic) => ic.getByType(PluginType.Monitor), [PluginType.Monitor]),
      plugin(PluginType.GRPC, "by-id", async (ic) => ic.getById(PluginType.Monitor, "cgroups")),
    ]);
    const set = await initPlugins(registry, base);
    for (const r of set.results) {
      expect(r.status).toBe("error");
      expect(isNotFound(r.error)).toBe(true);
    }
    expect(set.results[0]?.error?.message).toBe("no plugins registered for io.containerd.runtime.v2: not found");
    expect(set.results[1]?.error?.message).toBe("no plugins registered for io.containerd.monitor.v1: not found");
    expect(set.results[2]?.error?.message).toBe("no plugins registered for io.containerd.monitor.v1: not found");
  });

  it("reports an unknown id, several candidates and a missing requires as errors", async () => {
    const registry = createRegistry([
      plugin(PluginType.Snapshot, "a"),
      plugin(PluginType.Snapshot, "b"),
      plugin(PluginType.Service, "unknown-id", async (ic) => ic.getById(PluginType.Snapshot, "zz"), [
        PluginType.Snapshot,
      ]),
      plugin(PluginType.Service, "ambiguous", async (ic) => ic.getSingle(PluginType.Snapshot), [PluginType.Snapshot]),
      plugin(PluginType.Service, "early", async (ic) => ic.getSingle(PluginType.GC)),
      plugin(PluginType.Service, "early-id", async (ic) => ic.getById(PluginType.GC, "scheduler")),
      plugin(PluginType.GC, "scheduler"),
    ]);
    const set = await initPlugins(registry, base);
    const err = (id: string) => set.get(PluginType.Service, id)?.error;
    expect(isNotFound(err("unknown-id"))).toBe(true);
    expect(err("unknown-id")?.message).toBe("no io.containerd.snapshotter.v1 plugins with id zz: not found");
    expect(isFailedPrecondition(err("ambiguous"))).toBe(true);
    expect(err("ambiguous")?.message).toMatch(/more than one io\.containerd\.snapshotter\.v1 plugin initialized \(a, b\)/);
    expect(err("early")?.message).toBe(
      "io.containerd.gc.v1 plugins are not initialized yet: add io.containerd.gc.v1 to the requires of " +
        "io.containerd.service.v1.early: failed precondition",
    );
    expect(err("early-id")?.message).toMatch(/^io\.containerd\.gc\.v1\.scheduler is not initialized yet/);
    expect(set.get(PluginType.GC, "scheduler")?.status).toBe("ok");
  });

  it("returns the one ok plugin when the others of its type failed or skipped", async () => {
    const registry = createRegistry([
      plugin(PluginType.Snapshot, "btrfs", async () => {
        throw new SkipPluginError();
      }),
      plugin(PluginType.Snapshot, "overlayfs", async () => "overlay"),
      plugin(PluginType.Service, "snapshots", async (ic) => ic.getSingle(PluginType.Snapshot), [PluginType.Snapshot]),
    ]);
    const set = await initPlugins(registry, base);
    expect(set.results[0]?.error?.message).toBe("skip plugin");
    expect(set.get(PluginType.Service, "snapshots")?.instance).toBe("overlay");
  });

  it("normalizes thrown non-errors", async () => {
    const registry = createRegistry([
      plugin("t", "x", async () => {
        throw "just a string";
      }),
    ]);
    const set = await initPlugins(registry, base);
    expect(set.results[0]?.status).toBe("error");
    expect(set.results[0]?.error?.message).toBe("just a string");
  });
});

describe("initPlugins: options", () => {
  it.each([
    [{ root: "", state: "/s" }, "root must be specified"],
    [{ root: "/r", state: "" }, "state must be specified"],
    [{ root: "/x", state: "/x" }, "root and state must be different paths"],
  ])("rejects %j", async (options, message) => {
    const err = await initPlugins(createRegistry([]), options).catch((e: unknown) => e);
    expect(isInvalidArgument(err)).toBe(true);
    expect((err as Error).message).toBe(`init plugins: ${message}: invalid argument`);
  });

  it("rejects a dependency cycle before initializing anything", async () => {
    let called = false;
    const registry = createRegistry([
      plugin("a", "1", async () => (called = true), ["b"]),
      plugin("b", "2", async () => (called = true), ["a"]),
    ]);
    await expect(initPlugins(registry, base)).rejects.toThrow("plugin dependency cycle: a.1 -> b.2 -> a.1");
    expect(called).toBe(false);
  });
});

describe("initPlugins: disabled and required plugins", () => {
  it("neither initializes nor lists disabled plugins; their dependents fail at lookup", async () => {
    const calls: string[] = [];
    const track = (id: string) => async () => {
      calls.push(id);
      return id;
    };
    const registry = createRegistry([
      plugin(PluginType.Snapshot, "aufs", track("aufs")),
      plugin(PluginType.Snapshot, "native", track("native")),
      plugin(PluginType.GRPC, "cri", track("cri")),
      plugin(PluginType.Service, "needs-aufs", async (ic) => ic.getById(PluginType.Snapshot, "aufs")),
    ]);
    const set = await initPlugins(registry, {
      ...base,
      disabledPlugins: ["io.containerd.snapshotter.v1.aufs", "io.containerd.grpc.v1.cri"],
    });
    expect(calls).toEqual(["native"]);
    expect(summary(set.results)).toEqual([
      "io.containerd.snapshotter.v1.native ok",
      "io.containerd.service.v1.needs-aufs error",
    ]);
    expect(set.getByUri("io.containerd.grpc.v1.cri")).toBeUndefined();
    expect(set.results[1]?.error?.message).toBe("no io.containerd.snapshotter.v1 plugins with id aufs: not found");
  });

  it("rejects a required plugin that is not enabled before initializing anything", async () => {
    let called = false;
    const registry = createRegistry([
      plugin("t", "a", async () => {
        called = true;
      }),
    ]);
    const run = initPlugins(registry, { ...base, requiredPlugins: ["t.a", "t.b"], disabledPlugins: ["t.a"] });
    await expect(run).rejects.toThrow("required plugin t.a, t.b not included: failed precondition");
    expect(called).toBe(false);
  });

  it("closes what was initialized and rejects when a required plugin fails", async () => {
    const closed: string[] = [];
    const registry = createRegistry([
      plugin("t", "a", async () => ({ close: async () => void closed.push("a") })),
      plugin("t", "required", async () => {
        throw new SkipPluginError("no hardware");
      }),
      plugin("t", "never", async () => {
        throw new Error("must not run");
      }),
    ]);
    const run = initPlugins(registry, { ...base, requiredPlugins: ["t.required"] });
    await expect(run).rejects.toThrow("load required plugin t.required: no hardware: skip plugin");
    expect(closed).toEqual(["a"]);
  });

  it("stops, closes and rejects with Canceled when the signal aborts", async () => {
    const controller = new AbortController();
    const closed: string[] = [];
    const registry = createRegistry([
      plugin("t", "a", async (ic) => {
        controller.abort();
        expect(ic.signal.aborted).toBe(true);
        return { [Symbol.asyncDispose]: async () => void closed.push("a") };
      }),
      plugin("t", "b", async () => {
        throw new Error("must not run");
      }),
    ]);
    const err = await initPlugins(registry, { ...base, signal: controller.signal }).catch((e: unknown) => e);
    expect(isCanceled(err)).toBe(true);
    expect(closed).toEqual(["a"]);
  });
});

describe("initPlugins: properties, config, meta and logs", () => {
  it("gives each plugin its own root and state directories and the daemon addresses", async () => {
    const registry = createRegistry([plugin(PluginType.Content, "content", async (ic) => ic.properties)]);
    const set = await initPlugins(registry, {
      ...base,
      grpcAddress: "/run/test-state/test.sock",
      ttrpcAddress: "/run/test-state/test.sock.ttrpc",
    });
    expect(set.results[0]?.instance).toEqual({
      rootDir: join(base.root, "io.containerd.content.v1.content"),
      stateDir: join(base.state, "io.containerd.content.v1.content"),
      root: base.root,
      state: base.state,
      grpcAddress: "/run/test-state/test.sock",
      ttrpcAddress: "/run/test-state/test.sock.ttrpc",
    });
    const defaults = await initPlugins(registry, base);
    expect(defaults.results[0]?.instance).toMatchObject({ grpcAddress: "", ttrpcAddress: "" });
  });

  it("merges the config file section over the defaults and reports unknown keys", async () => {
    type GcConfig = { pause_threshold: number; schedule_delay: string; nested: { a: number; b: number } };
    const gc: Registration<GcConfig, GcConfig> = {
      type: PluginType.GC,
      id: "scheduler",
      config: { pause_threshold: 0.02, schedule_delay: "0s", nested: { a: 1, b: 2 } },
      init: async (ic) => ic.config,
    };
    const log = recordingLogger();
    const set = await initPlugins(createRegistry([gc, plugin("t", "plain", async (ic) => ic.config)]), {
      ...base,
      log,
      pluginConfig: {
        "io.containerd.gc.v1.scheduler": { schedule_delay: "5ms", nested: { b: 3, c: 4 }, bogus: true },
        "t.plain": { anything: 1 },
        "io.containerd.grpc.v1.cri": { sandbox_image: "pause" },
      },
    });
    expect(set.results[0]?.instance).toEqual({ pause_threshold: 0.02, schedule_delay: "5ms", nested: { a: 1, b: 3 } });
    expect(set.results[1]?.instance).toEqual({});
    expect(set.results[0]?.config).toBe(set.results[0]?.instance);
    expect(gc.config).toEqual({ pause_threshold: 0.02, schedule_delay: "0s", nested: { a: 1, b: 2 } });
    expect(set.warnings).toEqual([
      { plugin: "io.containerd.grpc.v1.cri", key: "", message: "config section for an unknown plugin ignored" },
      { plugin: "io.containerd.gc.v1.scheduler", key: "nested.c", message: "unknown key ignored" },
      { plugin: "io.containerd.gc.v1.scheduler", key: "bogus", message: "unknown key ignored" },
      { plugin: "t.plain", key: "anything", message: "unknown key ignored: the plugin takes no configuration" },
    ]);
    expect(log.entries.filter((e) => e.level === "warn").map((e) => e.fields?.["key"] ?? e.fields?.["plugin"])).toEqual([
      "io.containerd.grpc.v1.cri",
      "nested.c",
      "bogus",
      "anything",
    ]);
  });

  it("fails only the plugin whose config section has a value of the wrong kind", async () => {
    const registry = createRegistry([
      { type: "t", id: "typed", config: { size: 1 }, init: async () => "never" },
      plugin("t", "other"),
    ]);
    const set = await initPlugins(registry, { ...base, pluginConfig: { "t.typed": { size: "big" } } });
    expect(summary(set.results)).toEqual(["t.typed error", "t.other ok"]);
    expect(isInvalidArgument(set.results[0]?.error)).toBe(true);
    expect(set.results[0]?.error?.message).toBe(
      "plugin t.typed config: key size: expected number, got string: invalid argument",
    );
  });

  it("keeps the metadata a plugin reports, also when its init fails", async () => {
    const registry = createRegistry([
      plugin(PluginType.Snapshot, "overlayfs", async (ic) => {
        ic.meta.exports["root"] = ic.properties.rootDir;
        ic.meta.platforms.push({ os: "linux", architecture: "amd64" });
        ic.meta.capabilities.push("remap-ids");
        return "ok";
      }),
      plugin(PluginType.Snapshot, "devmapper", async (ic) => {
        ic.meta.platforms.push({ os: "linux", architecture: "arm64", variant: "v8" });
        throw new Error("no pool");
      }),
    ]);
    const set = await initPlugins(registry, base);
    expect(set.results[0]?.meta).toEqual({
      exports: { root: join(base.root, "io.containerd.snapshotter.v1.overlayfs") },
      capabilities: ["remap-ids"],
      platforms: [{ os: "linux", architecture: "amd64" }],
    });
    expect(set.results[1]?.meta.platforms).toEqual([{ os: "linux", architecture: "arm64", variant: "v8" }]);
    expect(Object.isFrozen(set.results[0]?.meta.exports)).toBe(true);
  });

  it("logs through the daemon's logger with the plugin's type and id bound", async () => {
    const log = recordingLogger();
    const registry = createRegistry([
      plugin("t", "a", async (ic) => {
        ic.log.debug("hello", { extra: 1 });
      }),
      plugin("t", "b", async () => {
        throw new SkipPluginError("not here");
      }),
      plugin("t", "c", async () => {
        throw new Error("broken");
      }),
    ]);
    await initPlugins(registry, { ...base, log });
    expect(log.entries).toEqual([
      { level: "info", msg: 'loading plugin "t.a"...', fields: { type: "t", id: "a" } },
      { level: "debug", msg: "hello", fields: { type: "t", id: "a", extra: 1 } },
      { level: "info", msg: 'loading plugin "t.b"...', fields: { type: "t", id: "b" } },
      { level: "info", msg: 'skip loading plugin "t.b"...', fields: { type: "t", id: "b", error: "not here: skip plugin" } },
      { level: "info", msg: 'loading plugin "t.c"...', fields: { type: "t", id: "c" } },
      { level: "warn", msg: "failed to load plugin t.c", fields: { type: "t", id: "c", error: "broken" } },
    ]);
  });
});

describe("PluginSet.close", () => {
  it("closes instances in reverse init order, once each, and every one even when one fails", async () => {
    const closed: string[] = [];
    const shared = { close: async () => void closed.push("shared") };
    const registry = createRegistry([
      plugin("t", "first", async () => ({ close: async () => void closed.push("first") })),
      plugin("t", "dispose", async () => ({
        [Symbol.asyncDispose]: async () => void closed.push("asyncDispose"),
        close: async () => void closed.push("close-not-preferred"),
      })),
      plugin("t", "shared-a", async () => shared),
      plugin("t", "sync", async () => ({ [Symbol.dispose]: () => void closed.push("sync") })),
      plugin("t", "shared-b", async () => shared),
      plugin("t", "failing", async () => ({
        close: async () => {
          closed.push("failing");
          throw new Error("busy");
        },
      })),
      plugin("t", "plain", async () => 42),
      plugin("t", "broken", async () => {
        throw new Error("no instance");
      }),
      plugin("t", "last", async () => ({ close: () => void closed.push("last") })),
    ]);
    const log = recordingLogger();
    const set = await initPlugins(registry, { ...base, log });
    await expect(set.close()).rejects.toThrow("close plugin t.failing: busy");
    expect(closed).toEqual(["last", "failing", "shared", "sync", "asyncDispose", "first"]);
    await expect(set.close()).rejects.toThrow("busy");
    expect(closed).toHaveLength(6);
    expect(log.entries.at(-1)).toMatchObject({ level: "error", msg: "failed to close plugin" });
  });

  it("reports several close failures together", async () => {
    const failing = (id: string) =>
      plugin("t", id, async () => ({
        close: async () => {
          throw new Error(`${id} stuck`);
        },
      }));
    const set = await initPlugins(createRegistry([failing("a"), failing("b")]), base);
    const err = await set.close().catch((e: unknown) => e as Error);
    expect(err?.message).toBe("close plugin t.b: b stuck; close plugin t.a: a stuck");
    expect(err?.cause).toBeInstanceOf(AggregateError);
  });
});
