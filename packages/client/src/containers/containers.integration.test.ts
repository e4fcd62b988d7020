/**
 * The containers client against containertsd with both runtimes: newContainer from an image (new
 * snapshot, spec from the image config, user resolved by mounting the snapshot), newTask with FIFO I/O,
 * wait/start/exit/delete, exec, pids, pause/resume, metrics, attach, and delete with snapshot cleanup.
 */
import { closeSync, constants, openSync, readdirSync, rmdirSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { kindOf } from "@containerts/errdefs";
import { buildBusybox, BUSYBOX_IMAGE } from "@containerts/testimages";
import { ctr, repoRoot, startContainertsd, unmountUnder, type TestDaemon } from "@containerts/testkit";
import { Client } from "../client.js";
import { type IOCreator, attachIO, fifoIO, loadIO, nullIO } from "./cio.js";
import { S_IFIFO, mknod } from "@containerts/sys";
import { emptyRuncOptions } from "./proxy/convert.js";
import { withDefaultUnixDevices, withImageConfig, withProcessArgs, withUser } from "./spec-opts.js";

function rmdirQuietly(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // absent or not empty
  }
}

function collect(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe.each(["io.containerd.runc.v2", "io.containerts.tsrunc.v1"])("containers and tasks through the client with %s", (runtime) => {
  let dir: string;
  let fifoDir: string;
  let d: TestDaemon;
  let client: Client;
  let namespace: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "client-containers-"));
    fifoDir = join(dir, "fifo");
    await mkdir(fifoDir);
    await buildBusybox(join(dir, "busybox.tar"));
    d = await startContainertsd({ env: { PATH: `${join(repoRoot, "packages/shim-runc/bin")}:${process.env["PATH"] ?? ""}` } });
    // A namespace of our own: the stock runc shim keeps state per namespace under a host-wide root.
    namespace = `client-${dir.slice(-6).toLowerCase().replace(/[^a-z0-9]/g, "x")}`;
    const imported = await ctr(d, ["images", "import", join(dir, "busybox.tar")], { namespace });
    if (imported.code !== 0) throw new Error(imported.stderr);
    client = await Client.connect(d.address, { namespace });
  });

  afterEach(async () => {
    const ctx = client.context();
    for (const t of await client.tasks.list(ctx)) {
      await client.tasks.kill(ctx, { containerId: t.id, signal: 9, all: true }).catch(() => {});
      await client.tasks.wait(ctx, { containerId: t.id }).catch(() => {});
      await client.tasks.delete(ctx, t.id).catch(() => {});
    }
    for (const c of await client.containers.list(ctx)) {
      await client.snapshots(c.snapshotter || "overlayfs").remove(ctx, c.snapshotKey).catch(() => {});
      await client.containers.delete(ctx, c.id);
    }
  });

  afterAll(async () => {
    client?.close();
    await d?.cleanup();
    // What deleted containers leave outside our paths: the runc shim's state root and the namespace's
    // parent cgroups (empty directories only).
    for (const h of ["", ...readdirSync("/sys/fs/cgroup")]) rmdirQuietly(join("/sys/fs/cgroup", h, namespace));
    rmdirQuietly(join("/run/containerd/runc", namespace));
    unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  });

  async function create(id: string, args: string[], extra: Parameters<Client["newContainer"]>[2] = {}) {
    const ctx = client.context();
    const image = await client.images.get(ctx, BUSYBOX_IMAGE);
    return client.newContainer(ctx, id, {
      image,
      newSnapshot: { key: id },
      runtime: runtime === "io.containerd.runc.v2" ? { name: runtime, options: emptyRuncOptions() } : { name: runtime },
      specOpts: [withDefaultUnixDevices, withImageConfig(image), withProcessArgs(...args)],
      imageConfigLabels: true,
      imageStopSignal: "SIGTERM",
      ...extra,
    });
  }

  it("runs a container as the Go client's standard flow does, and cleans up after it", async () => {
    const ctx = client.context();
    const c = await create("flow", ["sh", "-c", "echo out; echo err >&2; cat; exit 3"]);
    expect(c.record).toMatchObject({ id: "flow", image: BUSYBOX_IMAGE, snapshotter: "overlayfs", snapshotKey: "flow", labels: { "io.containerd.image.config.stop-signal": "SIGTERM" } });
    const spec = await c.spec(ctx);
    expect(spec.process?.args).toEqual(["sh", "-c", "echo out; echo err >&2; cat; exit 3"]);
    expect(spec.process?.user).toEqual({ uid: 0, gid: 0, additionalGids: [0] });

    const stdout = collect();
    const stderr = collect();
    const task = await c.newTask(ctx, { io: fifoIO({ stdin: Readable.from(["piped in\n"]), stdout: stdout.stream, stderr: stderr.stream, fifoDir }) });
    expect(task.pid).toBeGreaterThan(0);
    expect((await task.status(ctx)).status).toBe("created");
    const exited = task.wait(ctx);
    await task.start(ctx);
    const exit = await exited;
    expect(exit.exitStatus).toBe(3);
    await expect(c.delete(ctx)).rejects.toThrow(`cannot delete running task flow`);
    const deleted = await task.delete(ctx);
    expect(deleted.exitStatus).toBe(3);
    expect(stdout.text()).toBe("out\npiped in\n");
    expect(stderr.text()).toBe("err\n");
    expect(readdirSync(fifoDir)).toEqual([]);
    await c.delete(ctx, { snapshotCleanup: true });
    await expect(client.containers.get(ctx, "flow")).rejects.toSatisfy((e: unknown) => kindOf(e) === "NotFound");
    await expect(client.snapshots().stat(ctx, "flow")).rejects.toSatisfy((e: unknown) => kindOf(e) === "NotFound");
  });

  it("resolves --user names from the image's /etc/passwd by mounting the snapshot", async () => {
    const ctx = client.context();
    const image = await client.images.get(ctx, BUSYBOX_IMAGE);
    const c = await create("user", ["id"], { specOpts: [withDefaultUnixDevices, withImageConfig(image), withProcessArgs("id"), withUser("daemon")] });
    expect((await c.spec(ctx)).process?.user).toEqual({ uid: 1, gid: 1, additionalGids: [1] });
    const out = collect();
    // The stock runc shim needs both output streams (or none).
    const task = await c.newTask(ctx, { io: fifoIO({ stdout: out.stream, stderr: new PassThrough(), fifoDir }) });
    const exited = task.wait(ctx);
    exited.catch(() => {});
    await task.start(ctx);
    expect((await exited).exitStatus).toBe(0);
    await task.delete(ctx);
    expect(out.text()).toBe("uid=1(daemon) gid=1(daemon) groups=1(daemon)\n");
  });

  it("execs, lists pids, pauses, resumes, samples metrics, and kills", async () => {
    const ctx = client.context();
    const c = await create("busy", ["sleep", "1000"]);
    const task = await c.newTask(ctx, { io: nullIO });
    const exited = task.wait(ctx);
    exited.catch(() => {});
    await task.start(ctx);

    const out = collect();
    const p = await task.exec(ctx, "e1", { ...(await c.spec(ctx)).process!, args: ["sh", "-c", "echo exec-out; exit 4"] }, { io: fifoIO({ stdout: out.stream, stderr: new PassThrough(), fifoDir }) });
    const pExit = p.wait(ctx);
    pExit.catch(() => {});
    expect(await p.start(ctx)).toBeGreaterThan(0);
    expect((await pExit).exitStatus).toBe(4);
    expect((await p.delete(ctx)).exitStatus).toBe(4);
    expect(out.text()).toBe("exec-out\n");
    await expect(task.exec(ctx, "", { user: { uid: 0, gid: 0 }, cwd: "/" })).rejects.toThrow("exec id must not be empty");

    const sleeper = await task.exec(ctx, "e2", { ...(await c.spec(ctx)).process!, args: ["sleep", "1000"] });
    await sleeper.start(ctx);
    const pids = await task.pids(ctx);
    expect(pids.map((x) => x.details?.execId ?? "")).toEqual(expect.arrayContaining(["", "e2"]));
    expect(pids.find((x) => x.pid === task.pid)?.details).toBeUndefined();
    const loaded = await task.loadProcess(ctx, "e2");
    expect(loaded.pid).toBe(sleeper.pid);
    await expect(loaded.delete(ctx)).rejects.toThrow(/process must be stopped before deletion/);
    expect((await loaded.delete(ctx, { force: true })).exitStatus).toBe(137);
    await expect(task.loadProcess(ctx, "e2")).rejects.toThrow(/^no running process found: /);

    await task.pause(ctx);
    expect((await task.status(ctx)).status).toBe("paused");
    await task.resume(ctx);
    expect((await task.status(ctx)).status).toBe("running");

    const m = await task.metrics(ctx);
    expect(m.id).toBe("busy");
    expect([1, 2]).toContain(m.data.version);
    expect(typeof m.data.stats).toBe("object");

    await expect(task.delete(ctx)).rejects.toThrow("task must be stopped before deletion: running");
    await task.kill(ctx, "SIGKILL");
    expect((await exited).exitStatus).toBe(137);
    expect((await task.delete(ctx)).exitStatus).toBe(137);
    await expect(c.task(ctx)).rejects.toThrow(/^no running task found: /);
  });

  it("reattaches to a task's FIFOs, and loads them for removal", async () => {
    const ctx = client.context();
    const c = await create("att", ["sh", "-c", "read line; echo got $line; exit 2"]);
    // FIFOs a client created, read until the task started, and left (as `run -d` does).
    const held: number[] = [];
    const detached: IOCreator = async (id) => {
      const dir = await mkdtemp(`${fifoDir}/`);
      const config = { stdin: join(dir, `${id}-stdin`), stdout: join(dir, `${id}-stdout`), stderr: join(dir, `${id}-stderr`), terminal: false };
      for (const p of [config.stdin, config.stdout, config.stderr]) mknod(p, S_IFIFO | 0o700);
      for (const p of [config.stdout, config.stderr]) held.push(openSync(p, constants.O_RDONLY | constants.O_NONBLOCK));
      return { config, cancel() {}, async wait() {}, async close() {} };
    };
    const release = () => {
      for (const fd of held.splice(0)) closeSync(fd);
    };
    const first = await c.newTask(ctx, { io: detached });
    await first.start(ctx);
    release();
    const out = collect();
    const input = new PassThrough();
    const attached = await c.task(ctx, attachIO({ stdin: input, stdout: out.stream, stderr: new PassThrough() }));
    const exited = attached.wait(ctx);
    exited.catch(() => {});
    input.end("hello\n");
    expect((await exited).exitStatus).toBe(2);
    await attached.delete(ctx);
    expect(out.text()).toBe("got hello\n");
    expect(readdirSync(fifoDir)).toEqual([]);

    await c.newTask(ctx, { io: detached });
    release();
    const loaded = await c.task(ctx, loadIO);
    await loaded.kill(ctx, 9);
    await loaded.wait(ctx);
    await loaded.delete(ctx);
    expect(readdirSync(fifoDir)).toEqual([]);
  });

  it("fails clearly for a second task, a taken id and a missing snapshot", async () => {
    const ctx = client.context();
    const c = await create("dup", ["sleep", "1000"]);
    await c.newTask(ctx);
    await expect(c.newTask(ctx, { io: fifoIO({ stdout: new PassThrough(), stderr: new PassThrough(), fifoDir }) })).rejects.toSatisfy((e: unknown) => kindOf(e) === "AlreadyExists");
    expect(readdirSync(fifoDir)).toEqual([]);
    await expect(create("dup", ["true"])).rejects.toSatisfy((e: unknown) => kindOf(e) === "AlreadyExists");
    await expect(client.newContainer(ctx, "nosnap", { snapshotKey: "does-not-exist", specOpts: [] })).rejects.toSatisfy((e: unknown) => kindOf(e) === "NotFound");
    await expect(client.containers.get(ctx, "nosnap")).rejects.toSatisfy((e: unknown) => kindOf(e) === "NotFound");
  });
});
