/**
 * The tasks service end to end, in process: containers through the containers gRPC service, tasks through
 * the Tasks gRPC service, run by real shims (the stock containerd-shim-runc-v2 and ours) driving runc on a
 * busybox root filesystem mounted as an overlay.
 */
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kindOf } from "@containerts/errdefs";
import { CgroupsTypeUrl, SpecTypeUrl } from "@containerts/api/typeurl";
import { ProcessDetails } from "@containerts/api/runc/options";
import { type Harness, RUNC_V2, TSRUNC_V1, startHarness, tsShimBinDir } from "./harness.js";
import { processSpec } from "../src/testsuite/index.js";
import { alive, removeShimSocket, shimPidsFor, waitFor } from "../src/testsuite/index.js";
import type { AnyValue } from "../src/index.js";
import type { ShimTask } from "../src/proxy/index.js";

const json = (typeUrl: string, v: unknown): AnyValue => ({ typeUrl, value: new TextEncoder().encode(JSON.stringify(v)) });

async function rejection(p: Promise<unknown>): Promise<{ kind: string | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    return { kind: kindOf(err), message: (err as Error).message };
  }
  throw new Error("expected the call to fail");
}

const env = { ...process.env, PATH: `${tsShimBinDir}:${process.env["PATH"] ?? ""}` };

describe.each([RUNC_V2, TSRUNC_V1])("tasks service with %s", (runtime) => {
  let h: Harness;
  let n = 0;
  const nextId = () => `c${++n}`;

  beforeAll(async () => {
    if (runtime === TSRUNC_V1 && !existsSync(join(tsShimBinDir, "containerd-shim-tsrunc-v1"))) {
      throw new Error(`containerd-shim-tsrunc-v1 is not built in ${tsShimBinDir} (packages/shim-runc)`);
    }
    h = await startHarness({ env });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function createTask(id: string, args: readonly string[], log = id) {
    await h.container(id, args, { runtime });
    return h.tasks.create(h.ctx, { containerId: id, rootfs: await h.rootfsMounts(id), io: { stdout: h.logUri(log), stderr: h.logUri(log) } });
  }

  const bundleDir = (id: string) => join(h.dir, "state", "io.containerd.runtime.v2.task", h.namespace, id);
  const workDir = (id: string) => join(h.dir, "root", "io.containerd.runtime.v2.task", h.namespace, id);

  it("runs a task to its exit code and deletes it", async () => {
    const id = nextId();
    const created = await createTask(id, ["sh", "-c", "echo hello from $(hostname); exit 3"]);
    expect(created.containerId).toBe(id);
    expect(created.pid).toBeGreaterThan(0);
    expect(existsSync(join(bundleDir(id), "config.json"))).toBe(true);
    expect(existsSync(join(bundleDir(id), "shim-binary-path"))).toBe(true);
    expect(existsSync(join(bundleDir(id), "address"))).toBe(true);

    const before = await h.tasks.get(h.ctx, { containerId: id });
    expect(before).toMatchObject({ id, pid: created.pid, status: "created" });

    const waiting = h.tasks.wait(h.ctx, { containerId: id });
    const pid = await h.tasks.start(h.ctx, { containerId: id });
    expect(pid).toBe(created.pid);
    const exit = await waiting;
    expect(exit.exitStatus).toBe(3);
    expect(exit.exitedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);

    // A wait issued after the exit answers with the recorded status.
    const again = await h.tasks.wait(h.ctx, { containerId: id });
    expect(again.exitStatus).toBe(3);
    expect(again.exitedAt.getTime()).toBe(exit.exitedAt.getTime());

    const stopped = await h.tasks.get(h.ctx, { containerId: id });
    expect(stopped).toMatchObject({ id, status: "stopped", exitStatus: 3 });
    expect(await h.readLog(id)).toContain(`hello from ${id}`);

    const listed = await h.tasks.list(h.ctx);
    expect(listed.map((p) => p.id)).toContain(id);

    const deleted = await h.tasks.delete(h.ctx, id);
    expect(deleted).toMatchObject({ id: "", pid: created.pid, exitStatus: 3 });
    expect(await rejection(h.tasks.get(h.ctx, { containerId: id }))).toEqual({ kind: "NotFound", message: `task ${id} not found` });
    expect(await rejection(h.tasks.delete(h.ctx, id))).toEqual({ kind: "NotFound", message: `task ${id} not found` });
    expect(existsSync(bundleDir(id))).toBe(false);
    expect(existsSync(workDir(id))).toBe(false);
    await h.containers.delete(h.ctx, id);
  });

  it("reports 137 for SIGKILL and refuses to signal a finished process", async () => {
    const id = nextId();
    await createTask(id, ["sleep", "1000"]);
    await h.tasks.start(h.ctx, { containerId: id });
    expect((await h.tasks.get(h.ctx, { containerId: id })).status).toBe("running");
    await expect(rejection(h.tasks.delete(h.ctx, id))).resolves.toMatchObject({ message: expect.stringContaining("failed to delete task") });
    await h.tasks.kill(h.ctx, { containerId: id, signal: 9 });
    const exit = await h.tasks.wait(h.ctx, { containerId: id });
    expect(exit.exitStatus).toBe(137);
    expect(await rejection(h.tasks.kill(h.ctx, { containerId: id, signal: 9 }))).toMatchObject({
      kind: "NotFound",
      message: expect.stringContaining("process already finished"),
    });
    expect((await h.tasks.delete(h.ctx, id)).exitStatus).toBe(137);
  });

  it("deletes a task that was created but never started", async () => {
    const id = nextId();
    await createTask(id, ["true"]);
    await h.tasks.delete(h.ctx, id);
    expect(existsSync(bundleDir(id))).toBe(false);
  });

  it("runs exec processes", async () => {
    const id = nextId();
    const { pid: initPid } = await createTask(id, ["sleep", "1000"]);
    await h.tasks.start(h.ctx, { containerId: id });

    expect(await rejection(h.tasks.exec(h.ctx, { containerId: id, execId: "", spec: json(SpecTypeUrl.Process, processSpec(["true"])) }))).toEqual({
      kind: "InvalidArgument",
      message: "exec id cannot be empty",
    });
    expect(await rejection(h.tasks.exec(h.ctx, { containerId: id, execId: "bad/id", spec: json(SpecTypeUrl.Process, processSpec(["true"])) }))).toMatchObject({
      kind: "InvalidArgument",
      message: expect.stringContaining("invalid exec id bad/id: identifier"),
    });

    const spec = json(SpecTypeUrl.Process, processSpec(["sh", "-c", "echo from-exec; sleep 0.2; exit 5"]));
    await h.tasks.exec(h.ctx, { containerId: id, execId: "e1", spec, io: { stdout: h.logUri(`${id}-e1`), stderr: h.logUri(`${id}-e1`) } });
    expect(await rejection(h.tasks.exec(h.ctx, { containerId: id, execId: "e1", spec }))).toMatchObject({ kind: "AlreadyExists" });
    expect(await h.tasks.get(h.ctx, { containerId: id, execId: "e1" })).toMatchObject({ id: "e1", status: "created", pid: 0 });

    const waiting = h.tasks.wait(h.ctx, { containerId: id, execId: "e1" });
    const execPid = await h.tasks.start(h.ctx, { containerId: id, execId: "e1" });
    expect(execPid).toBeGreaterThan(0);

    const pids = await h.tasks.listPids(h.ctx, id);
    expect(pids.map((p) => p.pid)).toContain(initPid);
    const execInfo = pids.find((p) => p.pid === execPid);
    expect(execInfo?.info?.typeUrl).toBe("containerd.runc.v1.ProcessDetails");
    expect(ProcessDetails.decode(execInfo?.info?.value ?? new Uint8Array()).execId).toBe("e1");

    expect((await waiting).exitStatus).toBe(5);
    expect((await h.tasks.wait(h.ctx, { containerId: id, execId: "e1" })).exitStatus).toBe(5);
    expect(await h.tasks.get(h.ctx, { containerId: id, execId: "e1" })).toMatchObject({ id: "e1", status: "stopped", exitStatus: 5 });
    expect(await h.readLog(`${id}-e1`)).toContain("from-exec");

    const deleted = await h.tasks.deleteProcess(h.ctx, { containerId: id, execId: "e1" });
    expect(deleted).toMatchObject({ id: "e1", pid: execPid, exitStatus: 5 });
    expect(await rejection(h.tasks.get(h.ctx, { containerId: id, execId: "e1" }))).toMatchObject({ kind: "NotFound" });

    await h.tasks.kill(h.ctx, { containerId: id, signal: 9, all: true });
    await h.tasks.wait(h.ctx, { containerId: id });
    await h.tasks.delete(h.ctx, id);
  });

  it("pauses and resumes, lists pids, updates and reports metrics", async () => {
    const id = nextId();
    const { pid } = await createTask(id, ["sleep", "1000"]);
    await h.tasks.start(h.ctx, { containerId: id });
    await h.tasks.pause(h.ctx, id);
    expect((await h.tasks.get(h.ctx, { containerId: id })).status).toBe("paused");
    await h.tasks.resume(h.ctx, id);
    expect((await h.tasks.get(h.ctx, { containerId: id })).status).toBe("running");

    expect((await h.tasks.listPids(h.ctx, id)).map((p) => p.pid)).toEqual([pid]);

    await h.tasks.update(h.ctx, {
      containerId: id,
      resources: json(SpecTypeUrl.LinuxResources, { memory: { limit: 64 * 1024 * 1024 } }),
    });

    const metrics = await h.tasks.metrics(h.ctx, [`id==${id}`]);
    expect(metrics).toHaveLength(1);
    expect(metrics[0]?.id).toBe(id);
    expect([CgroupsTypeUrl.MetricsV1, CgroupsTypeUrl.MetricsV2]).toContain(metrics[0]?.data?.typeUrl);
    expect(await h.tasks.metrics(h.ctx, ["id==nothing"])).toEqual([]);
    expect(await rejection(h.tasks.metrics(h.ctx, ["id=="]))).toMatchObject({ kind: "Unknown", message: expect.stringContaining("filters: parse error") });

    await h.tasks.kill(h.ctx, { containerId: id, signal: 9 });
    expect((await h.tasks.wait(h.ctx, { containerId: id })).exitStatus).toBe(137);
    await h.tasks.delete(h.ctx, id);
  });

  it("publishes the task events through the shim", async () => {
    const id = nextId();
    await createTask(id, ["sh", "-c", "exit 7"]);
    await h.tasks.start(h.ctx, { containerId: id });
    await h.tasks.wait(h.ctx, { containerId: id });
    await h.tasks.delete(h.ctx, id);
    const mine = () => h.events.filter((e) => e.namespace === h.namespace && (e.message["containerId"] === id));
    expect(await waitFor(() => mine().some((e) => e.topic === "/tasks/delete"), 10_000)).toBe(true);
    expect(mine().map((e) => e.topic)).toEqual(["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]);
    expect(mine().find((e) => e.topic === "/tasks/exit")?.message).toMatchObject({ containerId: id, id, exitStatus: 7 });
  });

  it("refuses bad inputs and leaves nothing behind", async () => {
    const shimsBefore = shimPidsFor(h.address);

    expect(await rejection(h.tasks.create(h.ctx, { containerId: "missing" }))).toEqual({
      kind: "NotFound",
      message: `container "missing" in namespace "${h.namespace}": not found`,
    });

    const badJson = nextId();
    await h.container(badJson, [], { runtime, spec: new TextEncoder().encode("{not json") });
    expect(await rejection(h.tasks.create(h.ctx, { containerId: badJson, rootfs: await h.rootfsMounts(badJson) }))).toMatchObject({
      kind: "InvalidArgument",
      message: expect.stringContaining("is not valid JSON"),
    });
    expect(existsSync(bundleDir(badJson))).toBe(false);

    const noRuntime = nextId();
    await h.container(noRuntime, ["true"], { runtime: "io.containerd.nope.v1" });
    expect(await rejection(h.tasks.create(h.ctx, { containerId: noRuntime, rootfs: await h.rootfsMounts(noRuntime) }))).toEqual({
      kind: "NotFound",
      message:
        'failed to start shim: failed to resolve runtime path: runtime "io.containerd.nope.v1" binary not installed "containerd-shim-nope-v1": not found',
    });
    expect(existsSync(bundleDir(noRuntime))).toBe(false);

    const badName = nextId();
    await h.container(badName, ["true"], { runtime: "nodots" });
    expect(await rejection(h.tasks.create(h.ctx, { containerId: badName }))).toMatchObject({
      kind: "InvalidArgument",
      message: expect.stringContaining("invalid runtime name nodots"),
    });

    const noSnapshot = nextId();
    await h.container(noSnapshot, ["true"], { runtime });
    const missing = join(h.dir, "snapshots", "does-not-exist");
    const r = await rejection(
      h.tasks.create(h.ctx, {
        containerId: noSnapshot,
        rootfs: [{ type: "overlay", source: "overlay", target: "", options: [`workdir=${missing}/work`, `upperdir=${missing}/fs`, `lowerdir=${missing}/lower`] }],
      }),
    );
    expect(r.message).toContain("failed to create shim task");
    expect(existsSync(bundleDir(noSnapshot))).toBe(false);
    expect(existsSync(workDir(noSnapshot))).toBe(false);

    const twice = nextId();
    await createTask(twice, ["sleep", "1000"]);
    expect(await rejection(h.tasks.create(h.ctx, { containerId: twice, rootfs: await h.rootfsMounts(`${twice}b`) }))).toEqual({
      kind: "AlreadyExists",
      message: `task ${twice}: already exists`,
    });
    expect((await h.tasks.get(h.ctx, { containerId: twice })).status).toBe("created");
    await h.tasks.delete(h.ctx, twice);

    expect(await rejection(h.tasks.start(h.ctx, { containerId: twice }))).toEqual({ kind: "NotFound", message: `task ${twice} not found` });
    expect(await rejection(h.tasks.checkpoint(h.ctx, twice))).toMatchObject({ kind: "NotFound" });

    expect(await waitFor(() => shimPidsFor(h.address).every((p) => shimsBefore.includes(p)), 10_000)).toBe(true);
    const left = await readdir(join(h.dir, "state", "io.containerd.runtime.v2.task", h.namespace));
    expect(left.filter((n) => !n.startsWith("."))).toEqual(expect.not.arrayContaining([badJson, noRuntime, badName, noSnapshot, twice]));
  });

  it("cleans up after a shim that dies", async () => {
    const id = nextId();
    await createTask(id, ["sleep", "1000"]);
    await h.tasks.start(h.ctx, { containerId: id });
    const shim = h.manager.get(h.ctx, id) as ShimTask;
    const { shimPid } = await shim.connect(h.ctx);
    expect(alive(shimPid)).toBe(true);
    const address = await readFile(join(bundleDir(id), "address"), "utf8");
    process.kill(shimPid, "SIGKILL");
    const gone = async () => h.tasks.get(h.ctx, { containerId: id }).then(() => false, (err: unknown) => kindOf(err) === "NotFound");
    expect(await waitFor(gone, 15_000)).toBe(true);
    expect(await waitFor(() => !existsSync(bundleDir(id)), 10_000)).toBe(true);
    // The bundle and the work dir are removed one after the other.
    expect(await waitFor(() => !existsSync(workDir(id)), 10_000)).toBe(true);
    await removeShimSocket(address);
  });
});
