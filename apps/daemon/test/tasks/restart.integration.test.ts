/**
 * Restart: containertsd is killed with SIGKILL while five containers run (three under the stock
 * containerd-shim-runc-v2, two under our shim), then started again on the same paths. The shims are
 * re-adopted: all five are listed as running, can be exec'd into and killed, and their exit codes arrive
 * through Wait; afterwards no shim, zombie or mount is left.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { specAny } from "@containerts/containers";
import { SpecTypeUrl } from "@containerts/api/typeurl";
import type { Mount } from "@containerts/tasks";
import {
  alive,
  busyboxSpec,
  makeBusyboxRootfs,
  mountsUnder,
  processSpec,
  shimPidsFor,
  waitFor,
  zombiesOf,
} from "@containerts/tasks/testsuite";
import type { TestDaemon } from "@containerts/testkit";
import { RUNC_V2, TSRUNC_V1, cleanupDaemon, clients, requireTsShim, startDaemon, uniqueNamespace } from "./helpers.js";

const ns = uniqueNamespace("rs");
/** Five containers: runtime, and how each one is stopped after the restart with the exit code expected. */
const plan = [
  { id: "r1", runtime: RUNC_V2, signal: 15, exit: 42 },
  { id: "r2", runtime: RUNC_V2, signal: 9, exit: 137 },
  { id: "r3", runtime: RUNC_V2, signal: 15, exit: 42 },
  { id: "r4", runtime: TSRUNC_V1, signal: 15, exit: 42 },
  { id: "r5", runtime: TSRUNC_V1, signal: 9, exit: 137 },
] as const;
/** PID 1 of each container traps SIGTERM and exits 42. */
const initArgs = ["sh", "-c", "trap 'exit 42' TERM; while true; do sleep 0.2; done"];

describe("containertsd restart with running tasks", () => {
  let d: TestDaemon | undefined;
  let rootfs = "";

  beforeAll(async () => {
    requireTsShim();
    d = await startDaemon();
    rootfs = join(d.dir, "busybox");
    await makeBusyboxRootfs(rootfs);
  });

  afterAll(async () => {
    await cleanupDaemon(d, [ns]);
  });

  async function overlay(id: string): Promise<Mount[]> {
    const snap = join(rootfs, "..", "snapshots", id);
    await mkdir(join(snap, "fs"), { recursive: true });
    await mkdir(join(snap, "work"), { recursive: true });
    return [{ type: "overlay", source: "overlay", target: "", options: [`workdir=${snap}/work`, `upperdir=${snap}/fs`, `lowerdir=${rootfs}`] }];
  }

  it("re-adopts five running tasks after kill -9, execs into them and delivers their exit codes", async () => {
    if (d === undefined) throw new Error("no daemon");
    const first = clients(d, ns);
    const pids = new Map<string, number>();
    try {
      for (const p of plan) {
        await first.containers.create(first.ctx, { id: p.id, runtime: { name: p.runtime }, spec: specAny(busyboxSpec(ns, p.id, initArgs)) });
        const { pid } = await first.tasks.create(first.ctx, { containerId: p.id, rootfs: await overlay(p.id) });
        await first.tasks.start(first.ctx, { containerId: p.id });
        pids.set(p.id, pid);
      }
      expect((await first.tasks.list(first.ctx)).map((t) => t.status)).toEqual(plan.map(() => "running"));
    } finally {
      first.close();
    }
    const shimsBefore = shimPidsFor(d.address);
    expect(shimsBefore.length).toBeGreaterThanOrEqual(1);
    const oldDaemonPid = d.pid;

    await d.kill();
    expect(alive(oldDaemonPid)).toBe(false);
    for (const pid of shimsBefore) expect(alive(pid)).toBe(true);
    for (const pid of pids.values()) expect(alive(pid)).toBe(true);

    d = await startDaemon({ dir: d.dir });
    const c = clients(d, ns);
    try {
      const listed = await c.tasks.list(c.ctx);
      expect(listed.map((t) => t.id).sort()).toEqual(plan.map((p) => p.id));
      for (const t of listed) expect(t).toMatchObject({ status: "running", pid: pids.get(t.id) });

      for (const p of plan) {
        const spec = { typeUrl: SpecTypeUrl.Process, value: new TextEncoder().encode(JSON.stringify(processSpec(["sh", "-c", "exit 4"]))) };
        await c.tasks.exec(c.ctx, { containerId: p.id, execId: "after-restart", spec });
        const waiting = c.tasks.wait(c.ctx, { containerId: p.id, execId: "after-restart" });
        await c.tasks.start(c.ctx, { containerId: p.id, execId: "after-restart" });
        expect((await waiting).exitStatus).toBe(4);
        await c.tasks.deleteProcess(c.ctx, { containerId: p.id, execId: "after-restart" });
      }

      const waits = plan.map((p) => c.tasks.wait(c.ctx, { containerId: p.id }));
      for (const p of plan) await c.tasks.kill(c.ctx, { containerId: p.id, signal: p.signal });
      const exits = await Promise.all(waits);
      expect(exits.map((e) => e.exitStatus)).toEqual(plan.map((p) => p.exit));

      for (const p of plan) {
        expect((await c.tasks.delete(c.ctx, p.id)).exitStatus).toBe(p.exit);
        await c.containers.delete(c.ctx, p.id);
      }
      expect(await c.tasks.list(c.ctx)).toEqual([]);
    } finally {
      c.close();
    }

    expect(await waitFor(() => shimPidsFor(d?.address ?? "").length === 0, 10_000)).toBe(true);
    for (const pid of [...shimsBefore, ...pids.values()]) expect(alive(pid)).toBe(false);
    expect(zombiesOf([d.pid, ...shimsBefore])).toEqual([]);
    expect(mountsUnder(d.dir)).toEqual([]);
  });
});
