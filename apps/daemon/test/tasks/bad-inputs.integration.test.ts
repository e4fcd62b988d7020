/**
 * Bad task inputs through containertsd: a spec that is not JSON, a missing snapshot (rootfs mounts whose
 * directories do not exist), a runtime that is not installed, a second task for one container. Each is a
 * clear error with the right code, and nothing is left behind: no bundle, no work directory, no shim.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SPEC_TYPE_URL, specAny } from "@containerts/containers";
import { kindOf } from "@containerts/errdefs";
import type { Mount } from "@containerts/tasks";
import { busyboxSpec, makeBusyboxRootfs, shimPidsFor, waitFor } from "@containerts/tasks/testsuite";
import type { TestDaemon } from "@containerts/testkit";
import { RUNTIMES, cleanupDaemon, clients, requireTsShim, startDaemon, uniqueNamespace, type Clients } from "./helpers.js";

const ns = uniqueNamespace("bad");

async function failure(p: Promise<unknown>): Promise<{ kind: string | undefined; message: string }> {
  return p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: unknown) => ({ kind: kindOf(err), message: (err as Error).message }),
  );
}

describe("bad task inputs through containertsd", () => {
  let d: TestDaemon | undefined;
  let c: Clients | undefined;
  let rootfs = "";

  beforeAll(async () => {
    requireTsShim();
    d = await startDaemon();
    c = clients(d, ns);
    rootfs = join(d.dir, "busybox");
    await makeBusyboxRootfs(rootfs);
  });

  afterAll(async () => {
    c?.close();
    await cleanupDaemon(d, [ns]);
  });

  const stateDir = () => join(d?.state ?? "", "io.containerd.runtime.v2.task", ns);
  const workDir = () => join(d?.root ?? "", "io.containerd.runtime.v2.task", ns);

  async function overlay(id: string): Promise<Mount[]> {
    const snap = join(rootfs, "..", "snapshots", id);
    await mkdir(join(snap, "fs"), { recursive: true });
    await mkdir(join(snap, "work"), { recursive: true });
    return [{ type: "overlay", source: "overlay", target: "", options: [`workdir=${snap}/work`, `upperdir=${snap}/fs`, `lowerdir=${rootfs}`] }];
  }

  async function nothingLeft(id: string): Promise<void> {
    expect(existsSync(join(stateDir(), id))).toBe(false);
    expect(existsSync(join(workDir(), id))).toBe(false);
    const address = d?.address ?? "";
    expect(await waitFor(() => shimPidsFor(address).length === 0, 10_000)).toBe(true);
  }

  it.each(RUNTIMES)("with %s", async (runtime) => {
    if (c === undefined) throw new Error("no clients");
    const { ctx, containers, tasks } = c;
    const tag = runtime.split(".")[2] ?? "x";

    const badJson = `${tag}-badjson`;
    await containers.create(ctx, { id: badJson, runtime: { name: runtime }, spec: { typeUrl: SPEC_TYPE_URL, value: new TextEncoder().encode("{not json") } });
    expect(await failure(tasks.create(ctx, { containerId: badJson, rootfs: await overlay(badJson) }))).toMatchObject({
      kind: "InvalidArgument",
      message: expect.stringContaining("not valid JSON"),
    });
    await nothingLeft(badJson);

    const noSnap = `${tag}-nosnap`;
    await containers.create(ctx, { id: noSnap, runtime: { name: runtime }, spec: specAny(busyboxSpec(ns, noSnap, ["true"])) });
    const gone = join(rootfs, "..", "snapshots", "removed");
    const r = await failure(
      tasks.create(ctx, {
        containerId: noSnap,
        rootfs: [{ type: "overlay", source: "overlay", target: "", options: [`workdir=${gone}/work`, `upperdir=${gone}/fs`, `lowerdir=${gone}/lower`] }],
      }),
    );
    expect(r.message).toMatch(/^failed to create shim task: .*(no such file or directory|not found)/);
    await nothingLeft(noSnap);

    const twice = `${tag}-twice`;
    await containers.create(ctx, { id: twice, runtime: { name: runtime }, spec: specAny(busyboxSpec(ns, twice, ["sleep", "100"])) });
    await tasks.create(ctx, { containerId: twice, rootfs: await overlay(twice) });
    expect(await failure(tasks.create(ctx, { containerId: twice, rootfs: await overlay(`${twice}2`) }))).toEqual({
      kind: "AlreadyExists",
      message: `task ${twice}: already exists`,
    });
    expect((await tasks.get(ctx, { containerId: twice })).status).toBe("created");
    await tasks.delete(ctx, twice);
    await nothingLeft(twice);
  });

  it("a runtime that is not installed", async () => {
    if (c === undefined) throw new Error("no clients");
    const { ctx, containers, tasks } = c;
    await containers.create(ctx, { id: "nort", runtime: { name: "io.containerd.nope.v1" }, spec: specAny(busyboxSpec(ns, "nort", ["true"])) });
    expect(await failure(tasks.create(ctx, { containerId: "nort", rootfs: await overlay("nort") }))).toEqual({
      kind: "NotFound",
      message:
        'failed to start shim: failed to resolve runtime path: runtime "io.containerd.nope.v1" binary not installed "containerd-shim-nope-v1": not found',
    });
    await nothingLeft("nort");
    expect(await failure(tasks.create(ctx, { containerId: "nort", runtimePath: "/nonexistent/shim" }))).toMatchObject({
      kind: "NotFound",
      message: expect.stringContaining("invalid custom binary path"),
    });
    await nothingLeft("nort");
    expect(await failure(tasks.create(ctx, { containerId: "missing" }))).toEqual({
      kind: "NotFound",
      message: `container "missing" in namespace "${ns}": not found`,
    });
    const left = existsSync(stateDir()) ? (await readdir(stateDir())).filter((n) => !n.startsWith(".")) : [];
    expect(left).toEqual([]);
  });
});
