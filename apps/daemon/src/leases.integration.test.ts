/**
 * Leases and garbage collection end to end: the built containertsd driven by the stock containerd 1.6
 * `ctr` and by `tsctr` (`leases create/ls/rm`), the `containerd-lease` header through the proxies, and
 * collections through the daemon (`tsctr gc`, synchronous lease deletes): unreferenced blobs go, blobs
 * held by a lease, a `gc.ref` label chain or a `gc.root` label stay, an expired lease releases its
 * resources.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";

import { writeBlob } from "@containerts/content";
import { ProxyContentStore } from "@containerts/content/proxy";
import { kindOf } from "@containerts/errdefs";
import { ProxyLeaseManager } from "@containerts/leases/proxy";
import { background, withLease, withNamespace } from "@containerts/namespaces";
import { ctr, tsctr, startContainertsd, type RunResult, type TestDaemon } from "@containerts/testkit";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type Cli = (d: { address: string }, args: readonly string[], opts?: { namespace?: string; input?: string | Buffer }) => Promise<RunResult>;

async function ok(cli: Cli, d: TestDaemon, args: string[], namespace: string, input?: Buffer): Promise<string> {
  const r = await cli(d, args, { namespace, ...(input === undefined ? {} : { input }) });
  if (r.code !== 0) throw new Error(`${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}\ndaemon:\n${d.logs().slice(-4000)}`);
  return r.stdout;
}

function blob(size: number): { bytes: Buffer; dgst: string } {
  const bytes = randomBytes(size);
  return { bytes, dgst: `sha256:${createHash("sha256").update(bytes).digest("hex")}` };
}

describe("leases and garbage collection against containertsd", () => {
  let d: TestDaemon;
  let content: ProxyContentStore;
  let leases: ProxyLeaseManager;

  beforeAll(async () => {
    d = await startContainertsd();
    // Past the start-up collection: blobs ingested by ctr are garbage until labelled.
    await new Promise((r) => setTimeout(r, 500));
    const target = { address: `unix://${d.address}`, credentials: credentials.createInsecure(), options: {} };
    content = new ProxyContentStore(target);
    leases = new ProxyLeaseManager(target);
  });
  afterAll(async () => {
    content?.close();
    leases?.close();
    await d?.cleanup();
  });

  /** Digests of the blob files on disk (any namespace). */
  async function onDisk(): Promise<string[]> {
    const files = await readdir(join(d.root, "io.containerd.content.v1.content", "blobs", "sha256")).catch(() => []);
    return files.map((f) => `sha256:${f}`);
  }

  for (const [name, cli] of [
    ["stock ctr", ctr],
    ["tsctr", tsctr],
  ] as const) {
    it(`${name}: leases create, ls, rm`, async () => {
      const ns = name === "tsctr" ? "ts-leases" : "ctr-leases";
      expect((await ok(cli, d, ["leases", "create", "--id", "lease-1", "a=b", "flag"], ns)).trim()).toBe("lease-1");
      const generated = (await ok(cli, d, ["leases", "create", "-x", "0"], ns)).trim();
      expect(generated).toMatch(/^\d+-[A-Za-z0-9_-]{4}$/);

      const dup = await cli(d, ["leases", "create", "--id", "lease-1"], { namespace: ns });
      expect(dup.code).not.toBe(0);
      expect(dup.stderr).toContain('lease "lease-1": already exists');

      const ls = await ok(cli, d, ["leases", "ls"], ns);
      const lines = ls.split("\n").filter((l) => l !== "");
      expect(lines[0]).toMatch(/^ID +CREATED AT +LABELS +$/);
      const l1 = lines.find((l) => l.startsWith("lease-1 "));
      expect(l1).toMatch(/^lease-1 +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) +a=b,containerd\.io\/gc\.expire=\S+Z,flag= +$/);
      expect(lines.find((l) => l.startsWith(`${generated} `))).toMatch(/ - +$/);
      expect((await ok(cli, d, ["leases", "ls", "-q", "id==lease-1"], ns)).trim()).toBe("lease-1");
      expect((await ok(cli, d, ["leases", "ls", "-q", "labels.a==b"], ns)).trim()).toBe("lease-1");
      const badFilter = await cli(d, ["leases", "ls", "id=="], { namespace: ns });
      expect(badFilter.code).not.toBe(0);
      expect(badFilter.stderr).toContain("failed to list leases");

      expect((await ok(cli, d, ["leases", "rm", "lease-1", generated, "--sync"], ns)).trim().split("\n")).toEqual(["lease-1", generated]);
      expect((await ok(cli, d, ["leases", "ls", "-q"], ns)).trim()).toBe("");
      const missing = await cli(d, ["leases", "rm", "lease-1"], { namespace: ns });
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain("not found");
    });
  }

  it("tsctr and ctr print the same leases table", async () => {
    const ns = "same-leases";
    await ok(ctr, d, ["leases", "create", "--id", "x1", "k=v"], ns);
    await ok(ctr, d, ["leases", "create", "--id", "a-much-longer-lease-id", "-x", "0"], ns);
    expect(await ok(tsctr, d, ["leases", "ls"], ns)).toBe(await ok(ctr, d, ["leases", "ls"], ns));
  });

  it("collects unreferenced blobs and keeps leased, gc.root and gc.ref-chained ones", async () => {
    const ns = "gc";
    const ctx = withNamespace(background(), ns);
    const [root, child, grandchild, loose, leased] = [blob(1000), blob(2000), blob(3000), blob(4000), blob(5000)];

    // A chain: root (gc.root) → child → grandchild, through both gc.ref.content label forms.
    await writeBlob(content, ctx, "grandchild", grandchild.bytes, { expected: grandchild.dgst });
    await writeBlob(content, ctx, "child", child.bytes, {
      expected: child.dgst,
      labels: { "containerd.io/gc.ref.content/gc": grandchild.dgst },
    });
    await writeBlob(content, ctx, "root", root.bytes, {
      expected: root.dgst,
      labels: { "containerd.io/gc.root": "yes", "containerd.io/gc.ref.content.m.0": child.dgst },
    });
    // Unreferenced, written by the stock ctr.
    await ok(ctr, d, ["content", "ingest", "loose"], ns, loose.bytes);
    // Held by a lease (the containerd-lease header of the write).
    const lease = await leases.create(ctx, { id: "holder" });
    await writeBlob(content, withLease(ctx, lease.id), "leased", leased.bytes, { expected: leased.dgst });
    expect(await leases.listResources(ctx, lease)).toEqual([{ id: leased.dgst, type: "content" }]);

    await ok(tsctr, d, ["gc"], ns);
    const present = (await ok(ctr, d, ["content", "ls", "-q"], ns)).trim().split("\n").sort();
    expect(present).toEqual([root.dgst, child.dgst, grandchild.dgst, leased.dgst].sort());
    expect(await onDisk()).not.toContain(loose.dgst);
    expect(await onDisk()).toEqual(expect.arrayContaining(present));

    // Deleting the lease synchronously collects what only it held.
    await ok(ctr, d, ["leases", "rm", "--sync", "holder"], ns);
    expect((await ok(ctr, d, ["content", "ls", "-q"], ns)).trim().split("\n").sort()).toEqual([root.dgst, child.dgst, grandchild.dgst].sort());
    expect(await onDisk()).not.toContain(leased.dgst);

    // Breaking the chain in the middle releases its tail; removing the root releases the rest.
    await ok(ctr, d, ["content", "label", child.dgst, "containerd.io/gc.ref.content/gc="], ns);
    await ok(tsctr, d, ["gc"], ns);
    expect((await ok(ctr, d, ["content", "ls", "-q"], ns)).trim().split("\n").sort()).toEqual([root.dgst, child.dgst].sort());
    await ok(ctr, d, ["content", "label", root.dgst, "containerd.io/gc.root="], ns);
    await ok(tsctr, d, ["gc"], ns);
    expect((await ok(ctr, d, ["content", "ls", "-q"], ns)).trim()).toBe("");
    expect(await onDisk()).not.toEqual(expect.arrayContaining([root.dgst]));
  });

  it("keeps a blob committed in another namespace on disk until no namespace references it", async () => {
    const a = withNamespace(background(), "gc-a");
    const b = withNamespace(background(), "gc-b");
    const shared = blob(6000);
    await writeBlob(content, a, "s", shared.bytes, { expected: shared.dgst, labels: { "containerd.io/gc.root": "a" } });
    await writeBlob(content, b, "s", shared.bytes, { expected: shared.dgst });
    await ok(tsctr, d, ["gc"], "gc-b");
    await expect(content.info(b, shared.dgst)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
    expect((await content.info(a, shared.dgst)).size).toBe(6000);
    expect(await onDisk()).toContain(shared.dgst);
    await content.delete(a, shared.dgst);
    await ok(tsctr, d, ["gc"], "gc-a");
    expect(await onDisk()).not.toContain(shared.dgst);
  });

  it("releases the resources of a lease whose gc.expire has passed", async () => {
    const ns = "gc-expire";
    const ctx = withNamespace(background(), ns);
    await ok(ctr, d, ["leases", "create", "--id", "expired", "-x", "0", "containerd.io/gc.expire=2000-01-01T00:00:00Z"], ns);
    await ok(ctr, d, ["leases", "create", "--id", "alive", "-x", "1h"], ns);
    const [old, fresh] = [blob(700), blob(800)];
    await writeBlob(content, withLease(ctx, "expired"), "old", old.bytes, { expected: old.dgst });
    await writeBlob(content, withLease(ctx, "alive"), "fresh", fresh.bytes, { expected: fresh.dgst });
    await ok(tsctr, d, ["gc"], ns);
    expect((await ok(ctr, d, ["content", "ls", "-q"], ns)).trim()).toBe(fresh.dgst);
    expect(await onDisk()).not.toContain(old.dgst);
    // The expired lease itself is collected too.
    expect((await ok(ctr, d, ["leases", "ls", "-q"], ns)).trim()).toBe("alive");
  });

  it("fails a write under a lease that does not exist", async () => {
    const ctx = withLease(withNamespace(background(), "no-lease"), "missing");
    const b = blob(10);
    const err = await writeBlob(content, ctx, "x", b.bytes, { expected: b.dgst }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(kindOf(err)).toBe("NotFound");
    expect(String(err)).toContain("lease does not exist");
  });
});
