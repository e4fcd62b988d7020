/**
 * Acceptance: a real containerd 1.6 (stock binary, temp paths) runs containers through
 * `io.containerts.tsrunc.v1` (our shim, found on the daemon's PATH) with the stock `ctr`, and the same
 * flow runs through the stock `io.containerd.runc.v2` as the reference.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { buildBusybox } from "@containerts/testimages";
import { type RunResult, type TestDaemon, ctr, run, startContainerd } from "@containerts/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shimBin, shimBundle } from "./testing/harness.js";

const IMAGE = "docker.io/library/busybox:latest";

interface Case {
  readonly runtime: string;
  readonly binary: string;
  /** runc's state root of the shim (containers left there are force-deleted after the tests). */
  readonly runcRoot: string;
}

const cases: readonly Case[] = [
  { runtime: "io.containerts.tsrunc.v1", binary: "containerd-shim-tsrunc-v1", runcRoot: "/run/containerts/runc" },
  { runtime: "io.containerd.runc.v2", binary: "containerd-shim-runc-v2", runcRoot: "/run/containerd/runc" },
];

describe.each(cases)("real containerd 1.6 with $runtime", ({ runtime, binary, runcRoot }) => {
  const namespace = `tsrunc-accept-${randomBytes(4).toString("hex")}`;
  let dir = "";
  let d: TestDaemon | undefined;
  let events: ChildProcess | undefined;
  let eventLines = "";
  const c = (args: readonly string[]): Promise<RunResult> => ctr(d!, args, { namespace });

  beforeAll(async () => {
    if (!existsSync(shimBundle)) throw new Error(`${shimBundle} is missing: run \`pnpm --filter @containerts/shim-runc build\` first`);
    dir = await mkdtemp(join(tmpdir(), "tsrunc-accept-"));
    await buildBusybox(join(dir, "busybox.tar"));
    d = await startContainerd({
      env: { PATH: `${dirname(shimBin)}:${process.env["PATH"] ?? ""}`, CONTAINERTS_SHIM_SOCKET_DIR: join(dir, "s") },
    });
    events = spawn("ctr", ["--address", d.address, "events"], { stdio: ["ignore", "pipe", "ignore"] });
    events.stdout!.setEncoding("utf8").on("data", (s: string) => (eventLines += s));
    const imported = await c(["images", "import", join(dir, "busybox.tar")]);
    expect(imported.code, imported.stderr).toBe(0);
  });

  afterAll(async () => {
    events?.kill();
    if (d !== undefined) {
      // Anything a failed test left running: kill and remove it through the daemon.
      for (const id of ["t1", "t2", "t3", "t4"]) {
        await c(["tasks", "kill", "-s", "SIGKILL", id]);
        await c(["tasks", "rm", "-f", id]);
        await c(["containers", "rm", id]);
      }
      await d.cleanup();
    }
    const root = join(runcRoot, namespace);
    if (existsSync(root)) {
      for (const id of readdirSync(root)) await run("runc", ["--root", root, "delete", "--force", id]);
      await rm(root, { recursive: true, force: true });
    }
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("ctr run --rm prints the output and returns the exit code", async () => {
    const r = await c(["run", "--rm", "--runtime", runtime, IMAGE, "t1", "sh", "-c", "echo hi; exit 3"]);
    expect(r.stdout).toBe("hi\n");
    expect(r.code).toBe(3);
    expect((await c(["containers", "ls", "-q"])).stdout.trim()).toBe("");
  });

  it("ctr run -d, tasks ls/exec/ps/pause/resume/metrics/kill/rm", async () => {
    const r = await c(["run", "-d", "--runtime", runtime, IMAGE, "t2", "sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done"]);
    expect(r.code, r.stderr).toBe(0);
    const shimPath = await readFile(join(d!.state, "io.containerd.runtime.v2.task", namespace, "t2", "shim-binary-path"), "utf8");
    expect(shimPath.endsWith(`/${binary}`)).toBe(true);

    const ls = await c(["tasks", "ls"]);
    expect(ls.stdout).toMatch(/^t2\s+\d+\s+RUNNING\s*$/m);
    const pid = Number(/^t2\s+(\d+)/m.exec(ls.stdout)?.[1]);

    const exec = await c(["tasks", "exec", "--exec-id", "e1", "t2", "sh", "-c", "echo from-exec; exit 5"]);
    expect(exec.stdout).toBe("from-exec\n");
    expect(exec.code).toBe(5);

    const ps = await c(["tasks", "ps", "t2"]);
    expect(ps.code, ps.stderr).toBe(0);
    expect(ps.stdout).toContain(String(pid));

    expect((await c(["tasks", "pause", "t2"])).code).toBe(0);
    expect((await c(["tasks", "ls"])).stdout).toMatch(/^t2\s+\d+\s+PAUSED\s*$/m);
    expect((await c(["tasks", "resume", "t2"])).code).toBe(0);
    expect((await c(["tasks", "ls"])).stdout).toMatch(/^t2\s+\d+\s+RUNNING\s*$/m);

    const metrics = await c(["tasks", "metrics", "t2"]);
    expect(metrics.code, metrics.stderr).toBe(0);
    expect(metrics.stdout).toMatch(/memory\.usage_in_bytes\s+\d+/);
    expect(metrics.stdout).toMatch(/pids\.current\s+[1-9]/);

    expect((await c(["tasks", "kill", "t2"])).code).toBe(0);
    let stopped = false;
    for (let i = 0; i < 100 && !stopped; i++) {
      stopped = /^t2\s+\d+\s+STOPPED\s*$/m.test((await c(["tasks", "ls"])).stdout);
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stopped).toBe(true);
    expect((await c(["tasks", "rm", "t2"])).code).toBe(0);
    expect((await c(["containers", "rm", "t2"])).code).toBe(0);
    expect((await c(["tasks", "ls", "-q"])).stdout.trim()).toBe("");
  });

  it("ctr run --rm -t runs under a terminal", async () => {
    const cmd = ["ctr", "--address", d!.address, "--namespace", namespace, "run", "--rm", "-t", "--runtime", runtime, IMAGE, "t3", "sh", "-c", "tty; exit 4"];
    const r = await run("script", ["-qec", cmd.map((a) => `'${a}'`).join(" "), "/dev/null"]);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(r.code).toBe(4);
  });

  it("keeps a task across a daemon restart: listed, exec'd into, killed, exit delivered", async () => {
    const r = await c(["run", "-d", "--runtime", runtime, IMAGE, "t4", "sleep", "600"]);
    expect(r.code, r.stderr).toBe(0);
    const pid = Number(/^t4\s+(\d+)/m.exec((await c(["tasks", "ls"])).stdout)?.[1]);
    await d!.kill(); // SIGKILL: the shim and the container keep running
    d = await startContainerd({ dir: d!.dir, env: { PATH: `${dirname(shimBin)}:${process.env["PATH"] ?? ""}`, CONTAINERTS_SHIM_SOCKET_DIR: join(dir, "s") } });
    expect((await c(["tasks", "ls"])).stdout).toMatch(new RegExp(`^t4\\s+${pid}\\s+RUNNING\\s*$`, "m"));
    const exec = await c(["tasks", "exec", "--exec-id", "after-restart", "t4", "sh", "-c", "echo still-here"]);
    expect(exec.stdout).toBe("still-here\n");
    expect((await c(["tasks", "kill", "-s", "SIGKILL", "t4"])).code).toBe(0);
    let stopped = false;
    for (let i = 0; i < 100 && !stopped; i++) {
      stopped = /^t4\s+\d+\s+STOPPED\s*$/m.test((await c(["tasks", "ls"])).stdout);
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stopped).toBe(true);
    expect((await c(["tasks", "rm", "t4"])).stderr).toMatch(/exit code 137/);
    expect((await c(["containers", "rm", "t4"])).code).toBe(0);
  });

  it("ctr events shows the task events of the shim", async () => {
    let lines: string[] = [];
    for (let i = 0; i < 100; i++) {
      lines = eventLines.split("\n").filter((l) => / \/tasks\//.test(l) && /"container_id":"t1"/.test(l));
      if (lines.some((l) => l.includes("/tasks/delete"))) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const topics = lines.map((l) => / (\/tasks\/[a-z-]+) /.exec(l)?.[1]);
    expect(topics).toEqual(["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]);
    expect(lines[2]).toMatch(/"exit_status":3/);
    const t2 = eventLines.split("\n").filter((l) => /"container_id":"t2"/.test(l) && / \/tasks\//.test(l));
    const t2topics = t2.map((l) => / (\/tasks\/[a-z-]+) /.exec(l)?.[1]);
    expect(t2topics).toEqual(
      expect.arrayContaining(["/tasks/create", "/tasks/start", "/tasks/exec-added", "/tasks/exec-started", "/tasks/paused", "/tasks/resumed", "/tasks/exit", "/tasks/delete"]),
    );
  });
});
