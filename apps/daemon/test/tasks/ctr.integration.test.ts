/**
 * Tasks with the stock containerd 1.6 `ctr` against containertsd, with both runtimes: `run --rm` prints the
 * output and returns the exit code, `run -d` then `tasks ls/ps/exec/pause/resume/metrics/kill/rm`, and
 * `ctr events` shows the container and task events of a run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shimPidsFor, waitFor } from "@containerts/tasks/testsuite";
import { ctr, type TestDaemon } from "@containerts/testkit";
import { BUSYBOX, RUNTIMES, TSRUNC_V1, cleanupDaemon, importBusybox, requireTsShim, startDaemon, uniqueNamespace } from "./helpers.js";

const ns = uniqueNamespace("ctr");

/** Columns of a `ctr tasks ls` table, by task id. */
function taskTable(out: string): Map<string, { pid: number; status: string }> {
  const rows = new Map<string, { pid: number; status: string }>();
  for (const line of out.trim().split("\n").slice(1)) {
    const [id, pid, status] = line.trim().split(/\s+/);
    if (id !== undefined && pid !== undefined && status !== undefined) rows.set(id, { pid: Number(pid), status });
  }
  return rows;
}

describe("tasks through the stock ctr", () => {
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

  describe.each(RUNTIMES)("runtime %s", (runtime) => {
    const tag = runtime === TSRUNC_V1 ? "ts" : "rc";

    it("run --rm prints the output and returns the exit code", async () => {
      const r = await run(["run", "--rm", "--runtime", runtime, BUSYBOX, `${tag}-rm`, "sh", "-c", "echo hello from the container; echo to-stderr >&2; exit 3"]);
      expect(r.code).toBe(3);
      expect(r.stdout).toContain("hello from the container");
      expect(r.stderr).toContain("to-stderr");
      expect((await run(["containers", "ls", "-q"])).stdout).not.toContain(`${tag}-rm`);
      expect((await run(["tasks", "ls"])).stdout).not.toContain(`${tag}-rm`);
    });

    it("run -d, then tasks ls/ps/exec/pause/resume/metrics/kill/rm", async () => {
      const id = `${tag}-bg`;
      const started = await run(["run", "-d", "--runtime", runtime, BUSYBOX, id, "sleep", "1000"]);
      expect(started.code, started.stderr).toBe(0);

      const ls = taskTable((await run(["tasks", "ls"])).stdout);
      expect(ls.get(id)?.status).toBe("RUNNING");
      const pid = ls.get(id)?.pid ?? 0;
      expect(pid).toBeGreaterThan(0);

      const ps = await run(["tasks", "ps", id]);
      expect(ps.code, ps.stderr).toBe(0);
      expect(ps.stdout).toContain(String(pid));

      const exec = await run(["tasks", "exec", "--exec-id", "e1", id, "sh", "-c", "echo exec-out; exit 5"]);
      expect(exec.code).toBe(5);
      expect(exec.stdout).toContain("exec-out");

      expect((await run(["tasks", "pause", id])).code).toBe(0);
      expect(taskTable((await run(["tasks", "ls"])).stdout).get(id)?.status).toBe("PAUSED");
      expect((await run(["tasks", "resume", id])).code).toBe(0);
      expect(taskTable((await run(["tasks", "ls"])).stdout).get(id)?.status).toBe("RUNNING");

      const metrics = await run(["tasks", "metrics", id]);
      expect(metrics.code, metrics.stderr).toBe(0);
      expect(metrics.stdout).toContain(id);

      expect((await run(["tasks", "kill", "-s", "SIGKILL", id])).code).toBe(0);
      expect(await waitFor(async () => taskTable((await run(["tasks", "ls"])).stdout).get(id)?.status === "STOPPED", 10_000)).toBe(true);
      const rm = await run(["tasks", "rm", id]);
      expect(rm.code, rm.stderr).toBe(0);
      expect((await run(["tasks", "ls"])).stdout).not.toContain(id);
      expect((await run(["containers", "rm", id])).code).toBe(0);
    });
  });

  it("ctr events shows the events of a run", async () => {
    if (d === undefined) throw new Error("no daemon");
    const out: string[] = [];
    events = spawn("ctr", ["--address", d.address, "events"], { stdio: ["ignore", "pipe", "pipe"] });
    events.stdout?.setEncoding("utf8").on("data", (s: string) => out.push(s));
    await new Promise((r) => setTimeout(r, 300));
    const r = await run(["run", "--rm", BUSYBOX, "ev1", "sh", "-c", "exit 0"]);
    expect(r.code, r.stderr).toBe(0);
    const want = ["/containers/create", "/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete", "/containers/delete"];
    const topics = () =>
      out
        .join("")
        .split("\n")
        .filter((l) => l.includes(` ${ns} `) && l.includes('"ev1"'))
        .map((l) => l.split(" ").find((w) => w.startsWith("/")) ?? "");
    expect(await waitFor(() => topics().includes("/containers/delete"), 10_000)).toBe(true);
    expect(topics().filter((t) => want.includes(t))).toEqual(want);
    events.kill("SIGKILL");
  });

  it("leaves no shim behind", async () => {
    if (d === undefined) throw new Error("no daemon");
    const address = d.address;
    expect(await waitFor(() => shimPidsFor(address).length === 0, 10_000)).toBe(true);
  });
});
