import { describe, expect, it } from "vitest";
import { AlreadyExistsError, NotFoundError, kindOf } from "@containerts/errdefs";
import { PluginType, ServiceId, createRegistry, initPlugins, type AnyRegistration } from "@containerts/plugin-registry";
import { background, withNamespace, type Context } from "./context.js";
import type { Namespace, NamespaceStore } from "./store.js";
import { namespacesPlugins, type NamespaceEventPublisher } from "./plugin.js";

/** A namespace store in a map: enough for the service wrapper. */
function memoryStore(): NamespaceStore {
  const m = new Map<string, Record<string, string>>();
  return {
    async create(_ctx, name, labels = {}) {
      if (m.has(name)) throw new AlreadyExistsError(`namespace ${name}`);
      m.set(name, { ...labels });
      return { name, labels: { ...labels } };
    },
    async get(_ctx, name) {
      return { name, labels: { ...(m.get(name) ?? {}) } };
    },
    async list() {
      return [...m].map(([name, labels]) => ({ name, labels }));
    },
    async update(_ctx, ns: Namespace, paths) {
      const cur = m.get(ns.name) ?? {};
      const next = paths ? { ...cur } : {};
      for (const p of paths ?? Object.keys(ns.labels).map((k) => `labels.${k}`)) {
        const k = p.slice("labels.".length);
        const v = ns.labels[k] ?? "";
        if (v === "") delete next[k];
        else next[k] = v;
      }
      m.set(ns.name, next);
      return { name: ns.name, labels: next };
    },
    async delete(_ctx, name) {
      if (!m.delete(name)) throw new NotFoundError(`namespace ${name}`);
    },
  };
}

interface Published {
  namespace: string | undefined;
  topic: string;
  typeUrl: string;
  message: Readonly<Record<string, unknown>>;
}

async function setup(withEvents = true) {
  const published: Published[] = [];
  const publisher: NamespaceEventPublisher = {
    async publish(ctx: Context, topic, event) {
      if (!ctx.namespace) throw new Error("failed publishing event: namespace is required: failed precondition");
      published.push({ namespace: ctx.namespace, topic, typeUrl: event.typeUrl, message: event.message });
    },
  };
  const store = memoryStore();
  const regs: AnyRegistration[] = [
    { type: PluginType.Metadata, id: "fake", init: async () => ({ namespaceStore: () => store }) },
    ...(withEvents ? [{ type: PluginType.Event, id: "exchange", init: async () => publisher }] : []),
    ...namespacesPlugins,
  ];
  const set = await initPlugins(createRegistry(regs), { root: "/nonexistent/root", state: "/nonexistent/state" });
  return { set, store, published };
}

describe("namespaces service events", () => {
  it("publishes create and update in the caller's namespace and delete in the deleted one", async () => {
    const { set, published } = await setup();
    const svc = set.get(PluginType.Service, ServiceId.NamespacesService);
    expect(svc?.status).toBe("ok");
    const ns = svc?.instance as NamespaceStore;
    const ctx = withNamespace(background(), "default");
    await ns.create(ctx, "x", { a: "b" });
    await ns.update(ctx, { name: "x", labels: { c: "d" } }, ["labels.c"]);
    await ns.delete(ctx, "x");
    expect(published).toEqual([
      { namespace: "default", topic: "/namespaces/create", typeUrl: "containerd.events.NamespaceCreate", message: { name: "x", labels: { a: "b" } } },
      { namespace: "default", topic: "/namespaces/update", typeUrl: "containerd.events.NamespaceUpdate", message: { name: "x", labels: { c: "d" } } },
      { namespace: "x", topic: "/namespaces/delete", typeUrl: "containerd.events.NamespaceDelete", message: { name: "x" } },
    ]);
    await set.close();
  });

  it("publishes nothing when the change fails, and fails with Unknown when the publish fails", async () => {
    const { set, store, published } = await setup();
    const ns = set.get(PluginType.Service, ServiceId.NamespacesService)?.instance as NamespaceStore;
    await expect(ns.delete(withNamespace(background(), "default"), "missing")).rejects.toBeInstanceOf(NotFoundError);
    expect(published).toEqual([]);
    // No namespace header: the namespace is created, the call fails from the publish step (containerd: Unknown).
    const err = await ns.create(background(), "y").then(() => undefined, (e: unknown) => e);
    expect(kindOf(err)).toBe("Unknown");
    expect((err as Error).message).toBe("failed publishing event: namespace is required: failed precondition");
    expect((await store.list(background())).map((n) => n.name)).toEqual(["y"]);
    await set.close();
  });

  it("needs the event plugin", async () => {
    const { set } = await setup(false);
    expect(set.get(PluginType.Service, ServiceId.NamespacesService)?.status).toBe("error");
    await set.close();
  });
});
