/**
 * Our shim's default sharing and the manager's clean-ups, through containertsd:
 * - one `containerd-shim-tsrunc-v1` serves every container of a namespace; when it is killed (-9) with
 *   three containers running, every task gets `/tasks/exit` and `/tasks/delete`, the containers'
 *   processes, runc state and rootfs mounts are gone, and the next container starts a new shim;
 * - a Create that fails after runc created the container (the stock runc shim with a stdout file but no
 *   stderr) leaves no runc container, process, bundle or shim behind: the manager runs the shim's
 *   `delete` command as containerd does.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { specAny } from "@containerts/containers";
import { alive, busyboxSpec, makeBusyboxRootfs, mountsUnder, shimPidsFor, waitFor } from "@containerts/tasks/testsuite";
import { ctr, type TestDaemon } from "@containerts/testkit";
import { BUSYBOX, RUNC_V2, TSRUNC_V1, cleanupDaemon, clients, importBusybox, requireTsShim, startDaemon, uniqueNamespace } from "./helpers.js";

const ns = uniqueNamespace("shared");

/** The ids of the containers runc knows under `root` in our namespace. */
function runcIds(root: string): string[] {
  const r = spawnSync("runc", ["--root", join(root, ns), "list", "-q"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n").filter((s) => s !== "") : [];
}

describe("shared shims and clean-ups through containertsd", () => {
  let d: TestDaemon | undefined;
  let events: ChildProcess | undefined;

  beforeAll(async () => {
    requireTsShim();
    d = await startDaemon();
    await importBusybox(d, ns);
  });

  afterAll(async () => {
    if (events?.exitCode === null && events.signalCode === null) events.kill("SIGKILL");
    await cleanupDaemon(d, [ns]);
  });

  const run = (args: readonly string[]) => {
    if (d === undefined) throw new Error("no daemon");
    return ctr(d, args, { namespace: ns });
  };

  it("serves a namespace with one shim, and cleans up every task when that shim is killed", async () => {
    if (d === undefined) throw new Error("no daemon");
    const address = d.address;
    const out: string[] = [];
    events = spawn("ctr", ["--address", address, "events"], { stdio: ["ignore", "pipe", "pipe"] });
    events.stdout?.setEncoding("utf8").on("data", (s: string) => out.push(s));
    await new Promise((r) => setTimeout(r, 300));

    const ids = ["sh1", "sh2", "sh3"];
    for (const id of ids) {
      const r = await run(["run", "-d", "--runtime", TSRUNC_V1, BUSYBOX, id, "sleep", "1000"]);
      expect(r.code, r.stderr).toBe(0);
    }
    const shims = shimPidsFor(address);
    expect(shims).toHaveLength(1);
    const listed = (await run(["tasks", "ls"])).stdout;
    const pids = ids.map((id) => Number(new RegExp(`^${id}\\s+(\\d+)\\s+RUNNING`, "m").exec(listed)?.[1]));
    expect(pids.every((p) => p > 0 && alive(p)), listed).toBe(true);
    expect(runcIds("/run/containerts/runc").sort()).toEqual(ids);

    process.kill(shims[0] ?? -1, "SIGKILL");

    const seen = (topic: string, id: string) =>
      out
        .join("")
        .split("\n")
        .some((l) => l.includes(` ${ns} `) && l.includes(` ${topic} `) && l.includes(`"${id}"`));
    expect(await waitFor(() => ids.every((id) => seen("/tasks/exit", id) && seen("/tasks/delete", id)), 15_000), out.join("")).toBe(true);
    expect((await run(["tasks", "ls", "-q"])).stdout.trim()).toBe("");
    expect(await waitFor(() => pids.every((p) => !alive(p)), 5000)).toBe(true);
    expect(runcIds("/run/containerts/runc")).toEqual([]);
    const bundles = join(d.state, "io.containerd.runtime.v2.task", ns);
    expect(mountsUnder(bundles)).toEqual([]);
    for (const id of ids) expect(existsSync(join(bundles, id))).toBe(false);

    // The containers are still there (metadata); a new task starts a new shim.
    const again = await run(["run", "--rm", "--runtime", TSRUNC_V1, BUSYBOX, "sh4", "sh", "-c", "exit 7"]);
    expect(again.code, again.stderr).toBe(7);
    const after = shimPidsFor(address);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(shims[0]);
    for (const id of ids) expect((await run(["containers", "rm", id])).code).toBe(0);
    events.kill("SIGKILL");
  });

  it("removes the runc container of a Create that failed after runc create", async () => {
    if (d === undefined) throw new Error("no daemon");
    const c = clients(d, ns);
    try {
      const rootfs = join(d.dir, "busybox");
      await makeBusyboxRootfs(rootfs);
      const snap = join(d.dir, "snapshots", "half");
      await mkdir(join(snap, "fs"), { recursive: true });
      await mkdir(join(snap, "work"), { recursive: true });
      // A regular file for stdout and nothing for stderr: the runc shim copies stdout, then fails to stat
      // "" for stderr, after `runc create` (containerd's pkg/process copyPipes).
      const stdout = join(d.dir, "half-stdout");
      await writeFile(stdout, "");
      await c.containers.create(c.ctx, { id: "half", runtime: { name: RUNC_V2 }, spec: specAny(busyboxSpec(ns, "half", ["sleep", "100"])) });
      const err = await c.tasks
        .create(c.ctx, {
          containerId: "half",
          io: { stdin: "", stdout, stderr: "", terminal: false },
          rootfs: [{ type: "overlay", source: "overlay", target: "", options: [`workdir=${snap}/work`, `upperdir=${snap}/fs`, `lowerdir=${rootfs}`] }],
        })
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(err?.message).toMatch(/^failed to create shim task: /);
      expect(runcIds("/run/containerd/runc")).not.toContain("half");
      const address = d.address;
      expect(await waitFor(() => shimPidsFor(address).length === 0, 10_000)).toBe(true);
      const bundle = join(d.state, "io.containerd.runtime.v2.task", ns, "half");
      expect(existsSync(bundle)).toBe(false);
      expect(mountsUnder(bundle)).toEqual([]);
      expect(await c.tasks.list(c.ctx)).toEqual([]);
      await c.containers.delete(c.ctx, "half");
    } finally {
      c.close();
    }
  });
});
