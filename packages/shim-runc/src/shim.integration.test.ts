/**
 * Drives the built shim (`bin/containerd-shim-tsrunc-v1`) directly over ttrpc, as containerd does:
 * `start`, then `containerd.task.v2.Task` calls, with a fake daemon receiving the task events.
 * Containers run busybox from a rootfs directory that Create bind-mounts into the bundle.
 */
import { spawn, spawnSync } from "node:child_process";
import { constants, existsSync, openSync, readFileSync, statSync } from "node:fs";
import { Socket } from "node:net";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Metrics as MetricsV1 } from "@containerts/api/cgroups/v1";
import { ProcessDetails } from "@containerts/api/runc/options";
import { DeleteResponse } from "@containerts/api/runtime/task/v2";
import { Status } from "@containerts/api/types/task";
import { SpecTypeUrl, packJson } from "@containerts/api/typeurl";
import { isAlreadyExists, isInvalidArgument, isNotFound } from "@containerts/errdefs";
import { mountsUnder } from "@containerts/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, createHarness, shimBin, task } from "./testing/harness.js";

let h: Harness;

beforeEach(async () => {
  h = await createHarness();
});

afterEach(async () => {
  await h.cleanup();
});

function bindRootfs(): { type: string; source: string; target: string; options: string[] }[] {
  return [{ type: "bind", source: h.rootfsSource, target: "", options: ["rbind", "rw"] }];
}

async function processSpec(bundle: string, args: string[]): Promise<ReturnType<typeof packJson>> {
  const spec = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as { process: Record<string, unknown> };
  return packJson(SpecTypeUrl.Process, { ...spec.process, args, terminal: false });
}

/** Runs the shim's `delete` action in `bundle` (as containerd does after a disconnect) and decodes its output. */
function deleteAction(bundle: string, id: string, extra: readonly string[] = []): Promise<DeleteResponse> {
  return new Promise((resolve, reject) => {
    const child = spawn(shimBin, ["-namespace", h.namespace, "-address", h.daemonAddress, "-id", id, ...extra, "delete"], { cwd: bundle, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve(DeleteResponse.decode(Buffer.concat(chunks))) : reject(new Error(`delete exited ${code}: ${err}`))));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

async function gone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe("containerd-shim-tsrunc-v1 over ttrpc", () => {
  it("runs a container: start, Create, Start, Wait, Delete, Shutdown", async () => {
    const bundle = await h.bundle("t1", { args: ["sh", "-c", "echo hello; echo oops >&2; exit 3"] });
    const io = await h.fifos("t1");
    const address = await h.start(bundle, "t1");
    expect(address.startsWith(`unix://${h.socketDir}/`)).toBe(true);
    expect(await readFile(join(bundle, "address"), "utf8")).toBe(address);
    const { client, shimPid } = await h.connect(address);

    const { pid } = await task.create(client, {
      id: "t1",
      bundle,
      rootfs: bindRootfs(),
      terminal: false,
      stdin: "",
      stdout: io.stdout,
      stderr: io.stderr,
      checkpoint: "",
      parentCheckpoint: "",
      options: h.options(),
    });
    expect(pid).toBeGreaterThan(0);
    expect(mountsUnder(join(bundle, "rootfs"))).toHaveLength(1);
    expect(Number(await readFile(join(bundle, "init.pid"), "utf8"))).toBe(pid);
    expect(JSON.parse(await readFile(join(bundle, "options.json"), "utf8"))).toEqual({ root: h.runcRoot });
    expect((await task.connect(client, { id: "t1" })).taskPid).toBe(pid);

    const created = await task.state(client, { id: "t1", execId: "" });
    expect(created).toMatchObject({ id: "t1", bundle, pid, status: Status.CREATED, stdout: io.stdout, stderr: io.stderr });
    expect(created.exitedAt).toBeUndefined();

    const waiting = task.wait(client, { id: "t1", execId: "" }); // before Start
    expect((await task.start(client, { id: "t1", execId: "" })).pid).toBe(pid);
    const exit = await waiting;
    expect(exit.exitStatus).toBe(3);
    expect(exit.exitedAt?.seconds).toBeGreaterThan(0n);
    expect(await io.stdoutDone).toBe("hello\n");
    expect(await io.stderrDone).toBe("oops\n");

    const stopped = await task.state(client, { id: "t1", execId: "" });
    expect(stopped).toMatchObject({ status: Status.STOPPED, exitStatus: 3 });
    expect((await task.wait(client, { id: "t1", execId: "" })).exitStatus).toBe(3); // after the exit
    await expect(task.kill(client, { id: "t1", execId: "", signal: 9, all: false })).rejects.toSatisfy(isNotFound);

    const deleted = await task.delete(client, { id: "t1", execId: "" });
    expect(deleted).toMatchObject({ pid, exitStatus: 3 });
    expect(mountsUnder(join(bundle, "rootfs"))).toHaveLength(0);
    await expect(task.state(client, { id: "t1", execId: "" })).rejects.toThrow("container not created: not found");

    await h.waitForEvent((e) => e.topic === "/tasks/delete");
    const topics = h.events.map((e) => e.topic);
    expect(topics).toEqual(["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]);
    for (const e of h.events) {
      expect(e.namespace).toBe(h.namespace);
      expect(e.typeUrl.startsWith("containerd.events.Task")).toBe(true);
      expect(e.timestampSeconds).toBeGreaterThan(0n);
    }
    expect(h.events[0]?.decoded.message).toMatchObject({ containerId: "t1", bundle, pid, io: { stdout: io.stdout, stderr: io.stderr } });
    expect(h.events[2]?.decoded.message).toMatchObject({ containerId: "t1", id: "t1", pid, exitStatus: 3 });
    expect(h.events[3]?.decoded.message).toMatchObject({ containerId: "t1", pid, exitStatus: 3, id: "" });

    await task.shutdown(client, { id: "t1", now: false }).catch(() => {});
    expect(await gone(shimPid)).toBe(true);
    expect(existsSync(address.slice("unix://".length))).toBe(false);

    // The delete action containerd runs after the disconnect reports the clean Delete, by the launcher's
    // fast path (with -bundle) and by the program (bundle from the working directory).
    for (const extra of [["-bundle", bundle], []]) {
      const r = await deleteAction(bundle, "t1", extra);
      expect(r).toMatchObject({ pid, exitStatus: 3 });
      expect(r.exitedAt).toEqual(deleted.exitedAt);
    }
  });

  it("execs, lists pids, kills, pauses and resumes, updates, and reports cgroup v1 stats", async () => {
    const bundle = await h.bundle("t2", { args: ["sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done"] });
    const { client } = await h.connect(await h.start(bundle, "t2"));
    const { pid } = await task.create(client, {
      id: "t2",
      bundle,
      rootfs: bindRootfs(),
      terminal: false,
      stdin: "",
      stdout: "",
      stderr: "",
      checkpoint: "",
      parentCheckpoint: "",
      options: h.options(),
    });
    await task.start(client, { id: "t2", execId: "" });
    expect((await task.state(client, { id: "t2", execId: "" })).status).toBe(Status.RUNNING);

    // A short exec with output and an exit code.
    const io = await h.fifos("e1");
    await task.exec(client, { id: "t2", execId: "e1", terminal: false, stdin: "", stdout: io.stdout, stderr: io.stderr, spec: await processSpec(bundle, ["sh", "-c", "echo exec-out; exit 5"]) });
    await expect(
      task.exec(client, { id: "t2", execId: "e1", terminal: false, stdin: "", stdout: "", stderr: "", spec: await processSpec(bundle, ["true"]) }),
    ).rejects.toSatisfy(isAlreadyExists);
    expect(await task.state(client, { id: "t2", execId: "e1" })).toMatchObject({ status: Status.CREATED, pid: 0 });
    const e1 = (await task.start(client, { id: "t2", execId: "e1" })).pid;
    expect((await task.wait(client, { id: "t2", execId: "e1" })).exitStatus).toBe(5);
    expect(await io.stdoutDone).toBe("exec-out\n");
    expect(await task.delete(client, { id: "t2", execId: "e1" })).toMatchObject({ pid: e1, exitStatus: 5 });
    await expect(task.state(client, { id: "t2", execId: "e1" })).rejects.toThrow("process does not exist e1: not found");

    // A long exec: listed by Pids with its exec id, then killed.
    await task.exec(client, { id: "t2", execId: "e2", terminal: false, stdin: "", stdout: "", stderr: "", spec: await processSpec(bundle, ["sleep", "30"]) });
    const e2 = (await task.start(client, { id: "t2", execId: "e2" })).pid;
    const { processes } = await task.pids(client, { id: "t2" });
    expect(processes.map((p) => p.pid)).toEqual(expect.arrayContaining([pid, e2]));
    const info = processes.find((p) => p.pid === e2)?.info;
    expect(info?.typeUrl).toBe("containerd.runc.v1.ProcessDetails");
    expect(ProcessDetails.decode(info!.value).execId).toBe("e2");
    expect(processes.find((p) => p.pid === pid)?.info).toBeUndefined();
    // An exec with a terminal.
    const tio = await h.fifos("e4");
    await task.exec(client, { id: "t2", execId: "e4", terminal: true, stdin: "", stdout: tio.stdout, stderr: "", spec: await processSpec(bundle, ["sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys"]) });
    await task.start(client, { id: "t2", execId: "e4" });
    expect((await task.wait(client, { id: "t2", execId: "e4" })).exitStatus).toBe(0);
    expect(await tio.stdoutDone).toMatch(/^\/dev\/pts\/\d+\r?\nall-ttys\r?\n$/);
    await task.delete(client, { id: "t2", execId: "e4" });

    await task.kill(client, { id: "t2", execId: "e2", signal: 9, all: false });
    expect((await task.wait(client, { id: "t2", execId: "e2" })).exitStatus).toBe(137);
    await task.delete(client, { id: "t2", execId: "e2" });

    // Pause and resume.
    await task.pause(client, { id: "t2" });
    expect((await task.state(client, { id: "t2", execId: "" })).status).toBe(Status.PAUSED);
    await expect(task.exec(client, { id: "t2", execId: "e3", terminal: false, stdin: "", stdout: "", stderr: "", spec: await processSpec(bundle, ["true"]) })).rejects.toThrow(
      "cannot exec in a paused state",
    );
    await task.resume(client, { id: "t2" });
    expect((await task.state(client, { id: "t2", execId: "" })).status).toBe(Status.RUNNING);

    // Stats: cgroup v1 metrics on this host.
    const { stats } = await task.stats(client, { id: "t2" });
    expect(stats?.typeUrl).toBe("io.containerd.cgroups.v1.Metrics");
    const m = MetricsV1.decode(stats!.value);
    expect(m.memory?.usage?.usage).toBeGreaterThan(0n);
    expect(m.pids?.current).toBeGreaterThanOrEqual(1n);
    expect(m.cpu?.usage?.total).toBeGreaterThan(0n);

    // Update: a pids limit lands in the container's cgroup.
    await task.update(client, { id: "t2", resources: packJson(SpecTypeUrl.LinuxResources, { pids: { limit: 123 } }), annotations: {} });
    const pidsCgroup = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => /:pids:/.test(l))?.split(":")[2];
    expect(readFileSync(join("/sys/fs/cgroup/pids", pidsCgroup ?? "", "pids.max"), "utf8").trim()).toBe("123");

    // SIGTERM to init: its trap exits 7.
    await task.kill(client, { id: "t2", execId: "", signal: 15, all: false });
    expect((await task.wait(client, { id: "t2", execId: "" })).exitStatus).toBe(7);
    await task.delete(client, { id: "t2", execId: "" });
    await h.waitForEvent((e) => e.topic === "/tasks/delete");
    expect(h.events.map((e) => e.topic)).toEqual([
      "/tasks/create",
      "/tasks/start",
      "/tasks/exec-added", // e1
      "/tasks/exec-started",
      "/tasks/exit",
      "/tasks/exec-added", // e2
      "/tasks/exec-started",
      "/tasks/exec-added", // e4
      "/tasks/exec-started",
      "/tasks/exit",
      "/tasks/exit", // e2, killed
      "/tasks/paused",
      "/tasks/resumed",
      "/tasks/exit",
      "/tasks/delete",
    ]);
    expect(h.events[4]?.decoded.message).toMatchObject({ containerId: "t2", id: "e1", pid: e1, exitStatus: 5 });
  });

  it("runs a terminal: output through the pty, stdin, ResizePty", async () => {
    const bundle = await h.bundle("t3", { terminal: true, args: ["sh", "-c", "stty size; tty; read line; echo \"got $line\""] });
    const io = await h.fifos("t3");
    const { client } = await h.connect(await h.start(bundle, "t3"));
    await task.create(client, {
      id: "t3",
      bundle,
      rootfs: bindRootfs(),
      terminal: true,
      stdin: io.stdin,
      stdout: io.stdout,
      stderr: "",
      checkpoint: "",
      parentCheckpoint: "",
      options: h.options(),
    });
    const stdin = io.openStdin();
    await task.resizePty(client, { id: "t3", execId: "", width: 100, height: 30 });
    await task.start(client, { id: "t3", execId: "" });
    stdin.write("hello\n");
    expect((await task.wait(client, { id: "t3", execId: "" })).exitStatus).toBe(0);
    const out = await io.stdoutDone;
    expect(out).toContain("30 100");
    expect(out).toMatch(/\/dev\/pts\/\d+/);
    expect(out).toContain("got hello");
    await task.delete(client, { id: "t3", execId: "" });
  });

  it("feeds stdin until CloseIO and the client close it", async () => {
    const bundle = await h.bundle("t4", { args: ["sh", "-c", "cat; echo done"] });
    const io = await h.fifos("t4");
    const { client } = await h.connect(await h.start(bundle, "t4"));
    await task.create(client, {
      id: "t4",
      bundle,
      rootfs: bindRootfs(),
      terminal: false,
      stdin: io.stdin,
      stdout: io.stdout,
      stderr: io.stderr,
      checkpoint: "",
      parentCheckpoint: "",
      options: h.options(),
    });
    const stdin = io.openStdin();
    await task.start(client, { id: "t4", execId: "" });
    stdin.write("line one\n");
    stdin.end();
    // The shim still holds the stdin FIFO open: cat has not seen EOF yet.
    await new Promise((r) => setTimeout(r, 200));
    expect((await task.state(client, { id: "t4", execId: "" })).status).toBe(Status.RUNNING);
    await task.closeIO(client, { id: "t4", execId: "", stdin: true });
    expect((await task.wait(client, { id: "t4", execId: "" })).exitStatus).toBe(0);
    expect(await io.stdoutDone).toBe("line one\ndone\n");
    await task.delete(client, { id: "t4", execId: "" });
  });

  it("writes file:// output and starts binary:// loggers", async () => {
    const log = join(h.dir, "logs", "out.log");
    const bundle = await h.bundle("t5", { args: ["sh", "-c", "echo to-out; echo to-err >&2"] });
    const { client } = await h.connect(await h.start(bundle, "t5"));
    await task.create(client, {
      id: "t5",
      bundle,
      rootfs: bindRootfs(),
      terminal: false,
      stdin: "",
      stdout: `file://${log}`,
      stderr: `file://${log}`,
      checkpoint: "",
      parentCheckpoint: "",
      options: h.options(),
    });
    await task.start(client, { id: "t5", execId: "" });
    expect((await task.wait(client, { id: "t5", execId: "" })).exitStatus).toBe(0);
    expect((await readFile(log, "utf8")).split("\n").sort()).toEqual(["", "to-err", "to-out"]);

    // binary:// on an exec of the same container is not possible (it exited): use a second container.
    const logger = join(h.dir, "logger.sh");
    const outDir = join(h.dir, "binlog");
    await writeFile(
      logger,
      `#!/bin/sh\nmkdir -p ${outDir}\necho "$CONTAINER_ID $CONTAINER_NAMESPACE $*" > ${outDir}/env\nexec 5>&-\ncat <&3 > ${outDir}/out &\ncat <&4 > ${outDir}/err &\nwait\n`,
    );
    await chmod(logger, 0o755);
    const bundle2 = await h.bundle("t6", { args: ["sh", "-c", "echo b-out; echo b-err >&2"] });
    const c2 = (await h.connect(await h.start(bundle2, "t6"))).client;
    await task.create(c2, {
      id: "t6",
      bundle: bundle2,
      rootfs: bindRootfs(),
      terminal: false,
      stdin: "",
      stdout: `binary://${logger}?mode=test`,
      stderr: `binary://${logger}?mode=test`,
      checkpoint: "",
      parentCheckpoint: "",
      options: h.options(),
    });
    await task.start(c2, { id: "t6", execId: "" });
    expect((await task.wait(c2, { id: "t6", execId: "" })).exitStatus).toBe(0);
    await task.delete(c2, { id: "t6", execId: "" }); // stops the logger
    expect(await readFile(join(outDir, "env"), "utf8")).toBe(`t6 ${h.namespace} mode test\n`);
    expect(await readFile(join(outDir, "out"), "utf8")).toBe("b-out\n");
    expect(await readFile(join(outDir, "err"), "utf8")).toBe("b-err\n");
    await task.delete(client, { id: "t5", execId: "" });
  });

  it("groups containers with the same group annotation into one shim", async () => {
    const annotations = { "io.containerd.runc.v2.group": "g1" };
    const b1 = await h.bundle("g-a", { args: ["sleep", "30"], annotations });
    const b2 = await h.bundle("g-b", { args: ["sleep", "30"], annotations });
    const a1 = await h.start(b1, "g-a");
    const { client, shimPid } = await h.connect(a1);
    for (const [id, bundle] of [["g-a", b1]] as const) {
      await task.create(client, { id, bundle, rootfs: bindRootfs(), terminal: false, stdin: "", stdout: "", stderr: "", checkpoint: "", parentCheckpoint: "", options: h.options() });
    }
    const a2 = await h.start(b2, "g-b");
    expect(a2).toBe(a1);
    const second = await h.connect(a2);
    expect(second.shimPid).toBe(shimPid);
    await task.create(second.client, { id: "g-b", bundle: b2, rootfs: bindRootfs(), terminal: false, stdin: "", stdout: "", stderr: "", checkpoint: "", parentCheckpoint: "", options: h.options() });
    await task.start(client, { id: "g-a", execId: "" });
    await task.start(client, { id: "g-b", execId: "" });
    for (const id of ["g-a", "g-b"]) {
      await task.kill(client, { id, execId: "", signal: 9, all: false });
      expect((await task.wait(client, { id, execId: "" })).exitStatus).toBe(137);
      await task.delete(client, { id, execId: "" });
      await task.shutdown(client, { id, now: false }).catch(() => {});
    }
    expect(await gone(shimPid)).toBe(true);
  });

  it("shares one shim per namespace (CONTAINERTS_SHIM_SHARED), lingering after the last container", async () => {
    const env = { CONTAINERTS_SHIM_SHARED: "1", CONTAINERTS_SHIM_LINGER_MS: "400" };
    const run = async (id: string): Promise<{ address: string; shimPid: number }> => {
      const bundle = await h.bundle(id, { args: ["true"] });
      const address = await h.start(bundle, id, [], env);
      const { client, shimPid } = await h.connect(address);
      await task.create(client, { id, bundle, rootfs: bindRootfs(), terminal: false, stdin: "", stdout: "", stderr: "", checkpoint: "", parentCheckpoint: "", options: h.options() });
      await task.start(client, { id, execId: "" });
      expect((await task.wait(client, { id, execId: "" })).exitStatus).toBe(0);
      await task.delete(client, { id, execId: "" });
      await task.shutdown(client, { id, now: false });
      await client.close();
      return { address, shimPid };
    };
    const first = await run("s-1");
    expect(alive(first.shimPid)).toBe(true); // lingering
    const second = await run("s-2");
    expect(second).toEqual(first); // the same shim served the next container
    expect(await gone(first.shimPid)).toBe(true); // then it went away on its own
    expect(existsSync(first.address.slice("unix://".length))).toBe(false);
  });

  it("answers start from the launcher while the shared shim lives, and exits only under its lock", async () => {
    const env = { CONTAINERTS_SHIM_LINGER_MS: "600" };
    // Node refuses to start with this, so a `start` that succeeds did not run Node: the launcher answered.
    const noNode = { ...env, NODE_OPTIONS: "--no-such-node-flag" };
    const first = await h.bundle("f-1", { args: ["true"] });
    const address = await h.start(first, "f-1", [], env);
    const { client, shimPid } = await h.connect(address);
    await client.close();
    const lock = `${address.slice("unix://".length)}.lock`;
    expect(readFileSync(lock, "utf8")).toBe(String(shimPid));

    const second = await h.bundle("f-2", { args: ["true"] });
    const before = statSync(lock).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    expect(await h.start(second, "f-2", [], noNode)).toBe(address);
    expect(readFileSync(join(second, "address"), "utf8")).toBe(address);
    expect(statSync(lock).mtimeMs).toBeGreaterThan(before); // the start counts as activity
    expect(readFileSync(lock, "utf8")).toBe(String(shimPid));

    // While a `start` holds the lock, the idle shim cannot decide to exit, even past its linger time.
    const holder = spawn("flock", ["-s", lock, "sleep", "1.5"], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 1200));
    expect(alive(shimPid)).toBe(true);
    await new Promise<void>((r) => holder.once("close", () => r()));
    expect(await gone(shimPid, 5000)).toBe(true);
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(address.slice("unix://".length))).toBe(false);

    // No live shim: the launcher leaves `start` to Node (which this environment refuses)...
    await expect(h.start(second, "f-2", [], noNode)).rejects.toThrow(/start exited/);
    // ...and a stale socket and lock of a killed shim are not handed out either.
    const third = await h.start(second, "f-2", [], env);
    const next = await h.connect(third);
    await next.client.close();
    process.kill(next.shimPid, "SIGKILL");
    expect(await gone(next.shimPid)).toBe(true);
    expect(existsSync(lock)).toBe(true);
    await expect(h.start(second, "f-2", [], noNode)).rejects.toThrow(/start exited/);
    const fresh = await h.connect(await h.start(second, "f-2", [], env));
    expect(fresh.shimPid).not.toBe(next.shimPid);
    expect(readFileSync(lock, "utf8")).toBe(String(fresh.shimPid));
    await fresh.client.close();
  });

  it("logs a shared shim's lines to a live container's log FIFO once its first container is gone", async () => {
    const env = { CONTAINERTS_SHIM_LINGER_MS: "5000" };
    /** A `log` FIFO in the bundle, read as the daemon does (held open read-write, so no EOF). */
    const logFifo = (bundle: string) => {
      const path = join(bundle, "log");
      expect(spawnSync("mkfifo", [path]).status).toBe(0);
      const sock = new Socket({ fd: openSync(path, constants.O_RDWR | constants.O_NONBLOCK), readable: true, writable: false });
      let text = "";
      sock.setEncoding("utf8").on("data", (d: string) => (text += d));
      return { text: () => text, close: () => sock.destroy() };
    };
    const b1 = await h.bundle("l-1", { args: ["sleep", "60"] });
    const log1 = logFifo(b1);
    const b2 = await h.bundle("l-2", { args: ["sleep", "60"] });
    const log2 = logFifo(b2);
    try {
      const { client } = await h.connect(await h.start(b1, "l-1", ["-debug"], env));
      const create = (id: string, bundle: string) =>
        task.create(client, { id, bundle, rootfs: bindRootfs(), terminal: false, stdin: "", stdout: "", stderr: "", checkpoint: "", parentCheckpoint: "", options: h.options() });
      await create("l-1", b1);
      expect(await h.start(b2, "l-2", ["-debug"], env)).toBeTruthy();
      await create("l-2", b2);
      await new Promise((r) => setTimeout(r, 100));
      expect(log1.text()).toMatch(/"msg":"created".*"id":"l-2"/);
      await task.kill(client, { id: "l-1", execId: "", signal: 9, all: false });
      await task.delete(client, { id: "l-1", execId: "" });
      await task.start(client, { id: "l-2", execId: "" });
      for (let i = 0; i < 100 && !/"msg":"started".*"id":"l-2"/.test(log2.text()); i++) await new Promise((r) => setTimeout(r, 20));
      expect(log2.text()).toMatch(/"msg":"started".*"id":"l-2"/);
      expect(log1.text()).not.toMatch(/"msg":"started".*"id":"l-2"/);
      await task.kill(client, { id: "l-2", execId: "", signal: 9, all: false });
      await task.wait(client, { id: "l-2", execId: "" });
      await task.delete(client, { id: "l-2", execId: "" });
    } finally {
      log1.close();
      log2.close();
    }
  });

  it("reports an OOM kill with /tasks/oom", async () => {
    const bundle = await h.bundle("t9", { args: ["sh", "-c", "x=aaaaaaaa; while :; do x=$x$x; done"], memoryLimit: 16 << 20 });
    const { client } = await h.connect(await h.start(bundle, "t9"));
    await task.create(client, { id: "t9", bundle, rootfs: bindRootfs(), terminal: false, stdin: "", stdout: "", stderr: "", checkpoint: "", parentCheckpoint: "", options: h.options() });
    await task.start(client, { id: "t9", execId: "" });
    expect((await task.wait(client, { id: "t9", execId: "" })).exitStatus).toBe(137);
    const oom = await h.waitForEvent((e) => e.topic === "/tasks/oom");
    expect(oom.typeUrl).toBe("containerd.events.TaskOOM");
    expect(oom.decoded.message).toEqual({ containerId: "t9" });
    await task.delete(client, { id: "t9", execId: "" });
  });

  it("kills the whole container when init exits without its own pid namespace", async () => {
    const bundle = await h.bundle("t10", { args: ["sh", "-c", "sleep 60 & echo $! > /tmp/t10.pid; sleep 0.3"], pidNamespace: false });
    const { client } = await h.connect(await h.start(bundle, "t10"));
    await task.create(client, { id: "t10", bundle, rootfs: bindRootfs(), terminal: false, stdin: "", stdout: "", stderr: "", checkpoint: "", parentCheckpoint: "", options: h.options() });
    await task.start(client, { id: "t10", execId: "" });
    expect((await task.wait(client, { id: "t10", execId: "" })).exitStatus).toBe(0);
    const child = Number((await readFile(join(h.rootfsSource, "tmp/t10.pid"), "utf8")).trim());
    expect(await gone(child)).toBe(true);
    await task.delete(client, { id: "t10", execId: "" });
  });

  it("cleans up after a dead shim with the delete action", async () => {
    const bundle = await h.bundle("t7", { args: ["sleep", "60"] });
    const { client, shimPid } = await h.connect(await h.start(bundle, "t7"));
    const { pid } = await task.create(client, { id: "t7", bundle, rootfs: bindRootfs(), terminal: false, stdin: "", stdout: "", stderr: "", checkpoint: "", parentCheckpoint: "", options: h.options() });
    await task.start(client, { id: "t7", execId: "" });
    process.kill(shimPid, "SIGKILL");
    expect(await gone(shimPid)).toBe(true);
    const r = await deleteAction(bundle, "t7", ["-bundle", bundle]);
    expect(r.pid).toBe(pid);
    expect(r.exitStatus).toBe(137);
    expect(r.exitedAt?.seconds).toBeGreaterThan(0n);
    expect(mountsUnder(join(bundle, "rootfs"))).toHaveLength(0);
    expect(await gone(pid)).toBe(true);
  });

  it("reports errors with containerd's kinds and wording, leaving nothing mounted", async () => {
    const bundle = await h.bundle("t8", { args: ["/does/not/exist"] });
    const { client } = await h.connect(await h.start(bundle, "t8"));
    await expect(task.state(client, { id: "nope", execId: "" })).rejects.toThrow("container not created: not found");
    await expect(
      task.create(client, { id: "t8", bundle, rootfs: bindRootfs(), terminal: false, stdin: "", stdout: "", stderr: "", checkpoint: "", parentCheckpoint: "", options: h.options() }),
    ).rejects.toThrow(/OCI runtime create failed: .*\/does\/not\/exist/);
    expect(mountsUnder(join(bundle, "rootfs"))).toHaveLength(0);
    await expect(
      task.create(client, {
        id: "t8",
        bundle,
        rootfs: [{ type: "bind", source: join(h.dir, "missing"), target: "", options: ["rbind"] }],
        terminal: false,
        stdin: "",
        stdout: "",
        stderr: "",
        checkpoint: "",
        parentCheckpoint: "",
        options: h.options(),
      }),
    ).rejects.toThrow(/failed to mount rootfs component/);
    expect(mountsUnder(join(bundle, "rootfs"))).toHaveLength(0);
    await expect(
      task.create(client, { id: "t8", bundle, rootfs: [], terminal: false, stdin: "", stdout: "mystery://x", stderr: "", checkpoint: "", parentCheckpoint: "", options: h.options() }),
    ).rejects.toThrow("unknown STDIO scheme mystery");
    expect((await task.connect(client, { id: "t8" })).taskPid).toBe(0);
    await expect(
      task.create(client, { id: "../t8", bundle, rootfs: [], terminal: false, stdin: "", stdout: "", stderr: "", checkpoint: "", parentCheckpoint: "", options: h.options() }),
    ).rejects.toSatisfy(isInvalidArgument);
  });
});
