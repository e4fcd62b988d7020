/**
 * tsctr against a real containerd 1.6 and against containertsd; its tables match the stock ctr's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basename, dirname } from "node:path";
import { ctr, run, startContainerd, startContainertsd, tsctr, tsctrBin, type TestDaemon } from "@containerts/testkit";

describe.each([
  ["containerd 1.6", startContainerd],
  ["containertsd", startContainertsd],
])("tsctr against %s", (_name, start) => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await start();
  });
  afterAll(async () => {
    await d?.cleanup();
  });

  it("prints the server version and UUID", async () => {
    const r = await tsctr(d, ["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Server:\n {2}Version: {2}\S+\n {2}Revision: \S+\n {2}UUID: [0-9a-f-]{36}/);
    const stock = await ctr(d, ["version"]);
    expect(/UUID: (\S+)/.exec(r.stdout)?.[1]).toBe(/UUID: (\S+)/.exec(stock.stdout)?.[1]);
  });

  it("takes a relative --address against its working directory, as ctr does", async () => {
    const r = await run(tsctrBin, ["--address", basename(d.address), "version"], { cwd: dirname(d.address), timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/UUID: [0-9a-f-]{36}/);
  });

  it("lists plugins exactly as ctr does", async () => {
    const ours = await tsctr(d, ["plugins", "ls"]);
    const stock = await ctr(d, ["plugins", "ls"]);
    expect(ours.code).toBe(0);
    expect(ours.stdout).toBe(stock.stdout);
    const oursQ = await tsctr(d, ["plugins", "ls", "-q", "type==io.containerd.grpc.v1"]);
    const stockQ = await ctr(d, ["plugins", "ls", "-q", "type==io.containerd.grpc.v1"]);
    expect(oursQ.stdout).toBe(stockQ.stdout);
  });

  it("creates, lists, labels and removes namespaces, with ctr's table", async () => {
    expect((await tsctr(d, ["namespaces", "create", "tsctr-ns", "x=y", "a=b"])).code).toBe(0);
    const ours = await tsctr(d, ["namespaces", "ls"]);
    const stock = await ctr(d, ["namespaces", "ls"]);
    expect(ours.stdout).toBe(stock.stdout);
    expect(ours.stdout).toMatch(/^tsctr-ns\s+a=b,x=y\s*$/m);
    expect((await tsctr(d, ["namespaces", "label", "tsctr-ns", "x="])).code).toBe(0);
    expect((await tsctr(d, ["namespaces", "ls"])).stdout).toMatch(/^tsctr-ns\s+a=b\s*$/m);
    const rm = await tsctr(d, ["namespaces", "rm", "tsctr-ns"]);
    expect(rm.code).toBe(0);
    expect((await tsctr(d, ["namespaces", "ls", "-q"])).stdout.split("\n")).not.toContain("tsctr-ns");
  });

  it("reports errors like ctr", async () => {
    const r = await tsctr(d, ["namespaces", "create", "bad name"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ctr: identifier "bad name" must match/);
  });
});
