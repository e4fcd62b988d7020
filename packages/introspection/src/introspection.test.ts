import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, ServerCredentials, credentials } from "@grpc/grpc-js";
import { background } from "@containerts/namespaces";
import { createRegistry, initPlugins, PluginType, SkipPluginError, type AnyRegistration } from "@containerts/plugin-registry";
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import { isInvalidArgument, isNotFound } from "@containerts/errdefs";
import { introspectionPlugins } from "./plugin.js";
import { ProxyHealth, ProxyIntrospection, ProxyVersion, type ProxyTarget } from "./proxy/index.js";

describe("introspection, version and health over gRPC", () => {
  let dir: string;
  let server: Server;
  let target: ProxyTarget;
  let close: () => Promise<void>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "introspection-"));
    const extra: AnyRegistration[] = [
      { type: PluginType.Snapshot, id: "native", init: async (ic) => { ic.meta.platforms.push({ os: "linux", architecture: "amd64" }); ic.meta.exports["root"] = "/x"; return {}; } },
      { type: PluginType.Snapshot, id: "zfs", init: async () => { throw new SkipPluginError("zfs is not available"); } },
      { type: PluginType.Internal, id: "broken", init: async () => { throw new Error("boom"); } },
    ];
    const set = await initPlugins(createRegistry([...extra, ...introspectionPlugins({ version: "9.9.9", revision: "abc" })]), {
      root: join(dir, "root"),
      state: join(dir, "state"),
    });
    close = () => set.close();
    server = new Server();
    for (const [, p] of set.ofType(PluginType.GRPC).entries()) {
      if (p.status === "ok") (p.instance as GrpcServicePlugin).register(server);
    }
    const sock = join(dir, "s.sock");
    await new Promise<void>((res, rej) => server.bindAsync(`unix://${sock}`, ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    target = { address: `unix://${sock}`, credentials: credentials.createInsecure(), options: {} };
  });

  afterAll(async () => {
    await new Promise<void>((res) => server.tryShutdown(() => res()));
    await close();
    await rm(dir, { recursive: true, force: true });
  });

  it("lists plugins with status, exports and platforms", async () => {
    const p = new ProxyIntrospection(target);
    const all = await p.plugins(background());
    const native = all.find((x) => x.id === "native");
    expect(native?.platforms).toEqual([{ os: "linux", architecture: "amd64" }]);
    expect(native?.exports).toEqual({ root: "/x" });
    expect(all.find((x) => x.id === "zfs")?.initError?.message).toContain("skip plugin");
    expect(all.find((x) => x.id === "broken")?.initError?.message).toContain("boom");
    expect(all.map((x) => x.id)).toContain("introspection");
    p.close();
  });

  it("filters plugins by type and id, and rejects a malformed filter", async () => {
    const p = new ProxyIntrospection(target);
    const snap = await p.plugins(background(), ["type==io.containerd.snapshotter.v1, id==native"]);
    expect(snap.map((x) => x.id)).toEqual(["native"]);
    const either = await p.plugins(background(), ["id==zfs", "id==version"]);
    expect(either.map((x) => x.id).sort()).toEqual(["version", "zfs"]);
    await expect(p.plugins(background(), ["id=="])).rejects.toSatisfy(isInvalidArgument);
    p.close();
  });

  it("keeps a stable server UUID persisted under the root", async () => {
    const p = new ProxyIntrospection(target);
    const a = await p.server(background());
    const b = await p.server(background());
    expect(a.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.uuid).toBe(a.uuid);
    expect((await readFile(join(dir, "root", "io.containerd.grpc.v1.introspection", "uuid"), "utf8")).trim()).toBe(a.uuid);
    p.close();
  });

  it("answers version and health", async () => {
    const v = new ProxyVersion(target);
    expect(await v.version(background())).toEqual({ version: "9.9.9", revision: "abc" });
    v.close();
    const h = new ProxyHealth(target);
    expect(await h.isServing(background())).toBe(true);
    await expect(h.isServing(background(), "nope")).rejects.toSatisfy(isNotFound);
    h.close();
  });
});
