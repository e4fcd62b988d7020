import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, ServerCredentials, credentials } from "@grpc/grpc-js";
import { AlreadyExistsError, NotFoundError } from "@containerts/errdefs";
import { background, withNamespace, type Namespace, type NamespaceStore } from "@containerts/namespaces";
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import { namespacesPlugins } from "@containerts/namespaces/plugin";
import { ProxyNamespaceStore } from "@containerts/namespaces/proxy";
import { PluginType, createRegistry, initPlugins, uri, type AnyRegistration, type PluginSet } from "@containerts/plugin-registry";
import type { Envelope } from "../index.js";
import type { LocalExchange } from "../local/index.js";
import { ProxyExchange, type ProxyTarget } from "../proxy/index.js";
import { eventsPlugins } from "./index.js";

/** A namespace store in a map, standing in for the metadata plugin's. */
function memoryNamespaces(): NamespaceStore {
  const m = new Map<string, Record<string, string>>();
  return {
    async create(_ctx, name, labels = {}) {
      if (m.has(name)) throw new AlreadyExistsError(`namespace ${name}`);
      m.set(name, { ...labels });
      return { name, labels: { ...labels } };
    },
    get: async (_ctx, name) => ({ name, labels: { ...(m.get(name) ?? {}) } }),
    list: async () => [...m].map(([name, labels]) => ({ name, labels })),
    async update(_ctx, ns: Namespace, paths) {
      const next = { ...(m.get(ns.name) ?? {}) };
      for (const p of paths ?? []) {
        const k = p.slice("labels.".length);
        if (ns.labels[k]) next[k] = ns.labels[k];
        else delete next[k];
      }
      m.set(ns.name, paths ? next : { ...ns.labels });
      return { name: ns.name, labels: m.get(ns.name) ?? {} };
    },
    async delete(_ctx, name) {
      if (!m.delete(name)) throw new NotFoundError(`namespace ${name}`);
    },
  };
}

describe("events plugins in a daemon-like composition", () => {
  let dir: string;
  let set: PluginSet;
  let server: Server;
  let target: ProxyTarget;
  let sock: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "events-plugin-"));
    const store = memoryNamespaces();
    const metadata: AnyRegistration = { type: PluginType.Metadata, id: "fake", init: async () => ({ namespaceStore: () => store }) };
    set = await initPlugins(createRegistry([metadata, ...namespacesPlugins, ...eventsPlugins]), {
      root: join(dir, "root"),
      state: join(dir, "state"),
    });
    server = new Server();
    for (const r of set.ofType(PluginType.GRPC)) if (r.status === "ok") (r.instance as GrpcServicePlugin).register(server);
    sock = join(dir, "s.sock");
    await new Promise<void>((res, rej) => server.bindAsync(`unix://${sock}`, ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    target = { address: `unix://${sock}`, credentials: credentials.createInsecure(), options: {} };
  });

  afterAll(async () => {
    server?.forceShutdown();
    await set?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("registers io.containerd.event.v1.exchange and io.containerd.grpc.v1.events, and the exchange is closed with the set", () => {
    const ok = set.results.filter((r) => r.status === "ok").map(uri);
    expect(ok).toContain("io.containerd.event.v1.exchange");
    expect(ok).toContain("io.containerd.grpc.v1.events");
    expect(set.get(PluginType.Service, "namespaces-service")?.status).toBe("ok");
  });

  it("publishes namespace events that a gRPC subscriber sees", async () => {
    const exchange = set.get(PluginType.Event, "exchange")?.instance as LocalExchange;
    const events = new ProxyExchange(target);
    const namespaces = new ProxyNamespaceStore(target);
    const ac = new AbortController();
    const it = events.subscribe(background(ac.signal), ["topic~=^/namespaces/"])[Symbol.asyncIterator]();
    const got: Promise<IteratorResult<Envelope>>[] = [it.next()];
    while (exchange.stats().subscribers === 0) await new Promise((r) => setTimeout(r, 5));
    const ctx = withNamespace(background(), "default");
    await namespaces.create(ctx, "x", { a: "b" });
    await namespaces.update(ctx, { name: "x", labels: { c: "d" } }, ["labels.c"]);
    await namespaces.delete(ctx, "x");
    got.push(it.next(), it.next());
    const envs = (await Promise.all(got)).map((r) => r.value as Envelope);
    expect(envs.map((e) => [e.namespace, e.topic, e.event.typeUrl, e.event.message])).toEqual([
      ["default", "/namespaces/create", "containerd.events.NamespaceCreate", { name: "x", labels: { a: "b" } }],
      ["default", "/namespaces/update", "containerd.events.NamespaceUpdate", { name: "x", labels: { c: "d" } }],
      ["x", "/namespaces/delete", "containerd.events.NamespaceDelete", { name: "x" }],
    ]);
    ac.abort();
    events.close();
    namespaces.close();
  });
});
