import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf, isNotFound } from "@containerts/errdefs";
import { withNamespace } from "@containerts/namespaces";
import { startContainertsd, type TestDaemon } from "@containerts/testkit";
import { Client } from "./index.js";

describe("Client against containertsd", () => {
  let d: TestDaemon;
  let client: Client;
  beforeAll(async () => {
    d = await startContainertsd();
    client = await Client.connect(d.address, { namespace: "client-test" });
  });
  afterAll(async () => {
    client?.close();
    await d?.cleanup();
  });

  it("reports version, health and plugins", async () => {
    const v = await client.version();
    expect(v.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await client.isServing()).toBe(true);
    const plugins = await client.introspection.plugins(client.context(), ["type==io.containerd.grpc.v1"]);
    expect(plugins.map((p) => p.id)).toContain("namespaces");
  });

  it("manages namespaces through the proxy", async () => {
    const ctx = client.context();
    await client.namespaces.create(ctx, "client-ns", { a: "b" });
    expect(await client.namespaces.get(ctx, "client-ns")).toEqual({ name: "client-ns", labels: { a: "b" } });
    await client.namespaces.update(ctx, { name: "client-ns", labels: { c: "d" } }, ["labels.c"]);
    expect((await client.namespaces.get(ctx, "client-ns")).labels).toEqual({ a: "b", c: "d" });
    expect((await client.namespaces.list(ctx)).map((n) => n.name)).toContain("client-ns");
    await client.namespaces.delete(ctx, "client-ns");
    await expect(client.namespaces.delete(withNamespace(ctx, "x"), "client-ns")).rejects.toSatisfy(isNotFound);
  });

  it("cancels a call when the context's signal aborts", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(client.version(client.context(ac.signal))).rejects.toSatisfy((e: unknown) => kindOf(e) === "Canceled");
  });
});

describe("Client.connect", () => {
  it("fails clearly when nothing listens", async () => {
    const dir = await mkdtemp(join(tmpdir(), "client-"));
    try {
      const err = await Client.connect(join(dir, "none.sock"), { connectTimeoutMs: 300 }).catch((e: unknown) => e);
      expect(["Unavailable", "DeadlineExceeded"]).toContain(kindOf(err));
      expect(String((err as Error).message)).toContain("none.sock");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
