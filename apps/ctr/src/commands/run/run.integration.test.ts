/**
 * tsctr run / containers create / tasks * against containertsd, with the stock runc shim and with ours:
 * output and exit codes, stdin, the task commands after `run -d`, signal forwarding, the container
 * flags, and the spec compared byte for byte with the one the stock ctr writes.
 */
import { once } from "node:events";
import { mkdir, writeFile } from "node:fs/promises";
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@containerts/client";
import { RUNC_V2, TSRUNC, type TaskFixture, eventually, isEmptyDir, startTaskFixture } from "../../../test/task-fixture.js";

describe.each([RUNC_V2, TSRUNC])("tsctr run and tasks with runtime %s", (runtime) => {
  let f: TaskFixture;
  beforeAll(async () => {
    f = await startTaskFixture();
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  afterEach(async () => {
    await f.removeAll();
  });

  const run = (args: readonly string[], input?: string) =>
    f.tsctr(["run", "--runtime", runtime, "--fifo-dir", f.fifoDir, ...args], input === undefined ? {} : { input });

  it("run --rm prints the output, exits with the task's code, and leaves nothing behind", async () => {
    const r = await run(["--rm", f.image, "t1", "sh", "-c", "echo hi; echo oops >&2; exit 3"]);
    expect(r.stdout).toBe("hi\n");
    expect(r.stderr).toBe("oops\n");
    expect(r.code).toBe(3);
    expect((await f.ctr(["containers", "ls", "-q"])).stdout).toBe("");
    expect((await f.ctr(["snapshots", "ls"])).stdout).not.toMatch(/^t1\s/m);
    expect(isEmptyDir(f.fifoDir)).toBe(true);
  });

  it("--snapshotter native unpacks the image into that snapshotter first", async () => {
    const r = await run(["--rm", "--snapshotter", "native", f.image, "n1", "sh", "-c", "test -x /bin/busybox && echo native"]);
    expect([r.stdout, r.code]).toEqual(["native\n", 0]);
    expect((await f.ctr(["snapshots", "--snapshotter", "native", "ls"])).stdout).toMatch(/^sha256:[0-9a-f]{64} +Committed *$/m);
  });

  it("copies stdin and closes it at its end", async () => {
    const r = await run(["--rm", f.image, "t2", "sh", "-c", "cat; echo done"], "line one\nline two\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("line one\nline two\ndone\n");
  });

  it("run -d, then tasks ls / ps / exec / pause / resume / metrics / kill / rm print what ctr prints", async () => {
    const d = await run(["-d", f.image, "d1", "sleep", "1000"]);
    expect(d.code).toBe(0);
    expect(d.stdout).toBe("");

    const ls = await f.tsctr(["tasks", "ls"]);
    expect(ls.stdout).toMatch(/^TASK {4}PID +STATUS {4}\nd1 {6}\d+ +RUNNING\n$/);
    expect(ls.stdout).toBe((await f.ctr(["tasks", "ls"])).stdout);
    expect((await f.tsctr(["t", "ls", "-q"])).stdout).toBe("d1\n");

    const ex = await f.tsctr(["tasks", "exec", "--fifo-dir", f.fifoDir, "--exec-id", "e1", "d1", "sh", "-c", "echo in-exec; exit 7"]);
    expect(ex.stdout).toBe("in-exec\n");
    expect(ex.code).toBe(7);

    const asUser = await f.tsctr(["tasks", "exec", "--fifo-dir", f.fifoDir, "--exec-id", "u1", "--user", "daemon", "--cwd", "/tmp", "d1", "sh", "-c", "id -u; pwd"]);
    expect([asUser.stdout, asUser.code]).toEqual(["1\n/tmp\n", 0]);
    expect((await f.tsctr(["tasks", "exec", "-d", "--fifo-dir", f.fifoDir, "--exec-id", "e2", "d1", "sleep", "1000"])).code).toBe(0);
    const ps = await f.tsctr(["tasks", "ps", "d1"]);
    expect(ps.stdout).toMatch(/^PID +INFO\n\d+ +-\n\d+ +&ProcessDetails\{ExecID:e2,XXX_unrecognized:\[\],\}\n$/);
    expect(ps.stdout).toBe((await f.ctr(["tasks", "ps", "d1"])).stdout);
    expect((await f.tsctr(["tasks", "kill", "-s", "KILL", "--exec-id", "e2", "d1"])).code).toBe(0);
    await eventually(async () => ((await f.ctr(["tasks", "ps", "d1"])).stdout.includes("ExecID:e2") ? undefined : true), "exec e2 to exit");
    const rmExec = await f.tsctr(["tasks", "rm", "--exec-id", "e2", "d1"]);
    expect(rmExec.code).toBe(137);

    expect((await f.tsctr(["tasks", "pause", "d1"])).code).toBe(0);
    expect((await f.tsctr(["tasks", "ls"])).stdout).toMatch(/^d1 +\d+ +PAUSED$/m);
    expect((await f.tsctr(["tasks", "resume", "d1"])).code).toBe(0);
    expect((await f.tsctr(["tasks", "ls"])).stdout).toMatch(/^d1 +\d+ +RUNNING$/m);

    const m = await f.tsctr(["tasks", "metrics", "d1"]);
    expect(m.code).toBe(0);
    const stock = await f.ctr(["tasks", "metrics", "d1"]);
    // Same table as ctr's; only the sampled values (and so the column widths) may differ. Go drops a
    // zero fraction of a second, so the timestamp's fraction is optional on either side.
    const shape = (s: string) => s.split("\n").map((l) => l.replace(/(\d\d:\d\d:\d\d)\.\d+/g, "$1").replace(/\d+/g, "N").split(/\s+/));
    expect(shape(m.stdout)).toEqual(shape(stock.stdout));
    expect(m.stdout).toMatch(/^ID {4}TIMESTAMP +\nd1 {4}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC {4}\n\nMETRIC {19}VALUE +\nmemory\.usage_in_bytes {4}\d+/);
    const json = await f.tsctr(["tasks", "metrics", "--format", "json", "d1"]);
    expect(Object.keys(JSON.parse(json.stdout) as object)).toEqual(Object.keys(JSON.parse((await f.ctr(["tasks", "metrics", "--format", "json", "d1"])).stdout) as object));

    expect((await f.tsctr(["tasks", "kill", "-s", "SIGKILL", "d1"])).code).toBe(0);
    await eventually(async () => ((await f.tsctr(["tasks", "ls"])).stdout.match(/^d1 +\d+ +STOPPED$/m) ? true : undefined), "d1 to stop");
    const rm = await f.tsctr(["tasks", "rm", "d1"]);
    expect(rm.code).toBe(0);
    expect(rm.stderr).toMatch(/level=warning msg="task d1 exit with non-zero exit code 137"/);
    expect((await f.tsctr(["tasks", "ls", "-q"])).stdout).toBe("");
    expect((await f.ctr(["containers", "rm", "d1"])).code).toBe(0);
    expect(isEmptyDir(f.fifoDir)).toBe(true);
  });

  it("containers rm refuses a running task, deletes a stopped one with its snapshot, as ctr does", async () => {
    expect((await run(["-d", f.image, "c1", "sleep", "1000"])).code).toBe(0);
    const refused = await f.tsctr(["containers", "rm", "c1"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/level=error msg="failed to delete container \\"c1\\"" error="cannot delete a non stopped container: \{running 0 /);
    const stock = await f.ctr(["containers", "rm", "c1"]);
    expect(stock.stderr).toMatch(/cannot delete a non stopped container: \{running 0 /);
    expect((await f.tsctr(["tasks", "kill", "-s", "SIGKILL", "c1"])).code).toBe(0);
    await eventually(async () => ((await f.tsctr(["tasks", "ls"])).stdout.match(/^c1 +\d+ +STOPPED$/m) ? true : undefined), "c1 to stop");
    const rm = await f.tsctr(["containers", "rm", "c1"]);
    expect([rm.code, rm.stderr]).toEqual([0, ""]);
    expect((await f.ctr(["tasks", "ls", "-q"])).stdout).toBe("");
    expect((await f.ctr(["containers", "ls", "-q"])).stdout).toBe("");
    expect((await f.ctr(["snapshots", "ls"])).stdout).not.toMatch(/^c1\s/m);
    // A container without a task, keeping its snapshot (until a garbage collection finds it unreferenced).
    expect((await f.tsctr(["containers", "create", f.image, "c2", "true"])).code).toBe(0);
    expect((await f.tsctr(["containers", "rm", "--keep-snapshot", "c2"])).code).toBe(0);
    expect((await f.ctr(["containers", "ls", "-q"])).stdout).toBe("");
  });

  it("tasks kill sends SIGTERM by default, or the container's stop-signal label", async () => {
    const loop = 'trap "exit 43" TERM; trap "exit 44" USR1; while true; do sleep 0.1; done';
    expect((await run(["-d", f.image, "k2", "sh", "-c", loop])).code).toBe(0);
    expect((await run(["-d", f.image, "k3", "sh", "-c", loop])).code).toBe(0);
    // As with ctr, the image's stop signal (SIGTERM here) wins over --label; the label can be changed later.
    expect((await f.tsctr(["containers", "label", "k3", "io.containerd.image.config.stop-signal=SIGUSR1"])).code).toBe(0);
    expect((await f.tsctr(["tasks", "kill", "k2"])).code).toBe(0);
    expect((await f.tsctr(["tasks", "kill", "k3"])).code).toBe(0);
    for (const [id, code] of [
      ["k2", 43],
      ["k3", 44],
    ] as const) {
      await eventually(async () => ((await f.tsctr(["tasks", "ls"])).stdout.match(new RegExp(`^${id} +\\d+ +STOPPED$`, "m")) ? true : undefined), `${id} to stop`);
      const rm = await f.tsctr(["tasks", "rm", id]);
      expect(rm.stderr).toMatch(new RegExp(`exit with non-zero exit code ${code}`));
    }
  });

  it("tasks kill refuses --all with --exec-id; tasks rm of a running task fails like ctr", async () => {
    expect((await run(["-d", f.image, "k1", "sleep", "1000"])).code).toBe(0);
    const both = await f.tsctr(["tasks", "kill", "-a", "--exec-id", "x", "k1"]);
    expect(both.code).toBe(1);
    expect(both.stderr).toBe("ctr: specify an exec-id or all; not both\n");
    const rm = await f.tsctr(["tasks", "rm", "k1"]);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(/task must be stopped before deletion: running: failed precondition/);
    const forced = await f.tsctr(["tasks", "rm", "-f", "k1"]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/exit with non-zero exit code 137/);
    expect((await f.ctr(["containers", "rm", "k1"])).code).toBe(0);
  });

  it("containers create + tasks start runs the container's command and exits with its code", async () => {
    expect((await f.tsctr(["containers", "create", "--runtime", runtime, f.image, "s1", "sh", "-c", "echo started; exit 2"])).code).toBe(0);
    expect((await f.ctr(["containers", "ls"])).stdout).toMatch(new RegExp(`^s1 +docker.io/library/busybox:latest +${runtime.replace(/\./g, "\\.")} *$`, "m"));
    const r = await f.tsctr(["tasks", "start", "--fifo-dir", f.fifoDir, "s1"]);
    expect(r.stdout).toBe("started\n");
    expect(r.code).toBe(2);
    expect((await f.tsctr(["tasks", "ls", "-q"])).stdout).toBe("");
    expect((await f.ctr(["containers", "rm", "s1"])).code).toBe(0);
  });

  it("tasks attach reconnects to a detached task's output and deletes it after the exit", async () => {
    expect((await run(["-d", f.image, "a1", "sh", "-c", "sleep 1; echo late; exit 6"])).code).toBe(0);
    const r = await f.tsctr(["tasks", "attach", "a1"]);
    expect(r.stdout).toBe("late\n");
    expect(r.code).toBe(6);
    expect((await f.tsctr(["tasks", "ls", "-q"])).stdout).toBe("");
    expect((await f.ctr(["containers", "rm", "a1"])).code).toBe(0);
    expect(isEmptyDir(f.fifoDir)).toBe(true);
  });

  it("forwards SIGTERM to the task as Kill", async () => {
    const child = f.spawnCli("tsctr", ["run", "--rm", "--runtime", runtime, "--fifo-dir", f.fifoDir, f.image, "sig1", "sh", "-c", 'trap "echo got-term; exit 42" TERM; echo ready; while true; do sleep 0.1; done']);
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stdin?.end();
    await eventually(() => (out.includes("ready") ? true : undefined), "the task to start");
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    expect(out).toContain("got-term");
    expect(code).toBe(42);
    expect((await f.ctr(["containers", "ls", "-q"])).stdout).toBe("");
  });

  it("applies --env, --cwd, --user, --mount and --net-host", async () => {
    const shared = join(f.dir, "shared");
    await mkdir(shared, { recursive: true });
    await writeFile(join(shared, "file"), "from-host\n");
    const r = await run([
      "--rm",
      "--env",
      "FOO=bar",
      "--env",
      "PATH=/bin",
      "--cwd",
      "/tmp",
      "--user",
      "daemon:nogroup",
      "--mount",
      `type=bind,src=${shared},dst=/mnt,options=rbind:ro`,
      "--net-host",
      f.image,
      "o1",
      "sh",
      "-c",
      'id -u; id -g; pwd; echo "$FOO $PATH"; cat /mnt/file; readlink /proc/self/ns/net; echo "$HOSTNAME"',
    ]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 5)).toEqual(["1", "65534", "/tmp", "bar /bin", "from-host"]);
    expect(lines[5]).toBe(readlinkSync("/proc/self/ns/net"));
    expect(lines[6]).toBe((await import("node:os")).hostname());
    expect(r.code).toBe(0);
  });

  it("fails clearly for an unknown image, a bad mount flag or an unknown runtime, leaving nothing behind", async () => {
    const noImage = await run(["--rm", "docker.io/library/nope:latest", "x1", "true"]);
    expect(noImage.code).toBe(1);
    expect(noImage.stderr).toMatch(/^ctr: image "docker.io\/library\/nope:latest": not found\n$/);
    const badMount = await run(["--rm", "--mount", "type=bind,target=/x", f.image, "x2", "true"]);
    expect(badMount.stderr).toBe('ctr: mount option "target" not supported\n');
    const r = await f.tsctr(["run", "--rm", "--runtime", "io.containerd.nope.v1", "--fifo-dir", f.fifoDir, f.image, "x3", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ctr: .*nope/);
    expect((await f.ctr(["containers", "ls", "-q"])).stdout).not.toMatch(/^x[123]$/m);
    expect((await f.ctr(["snapshots", "ls"])).stdout).not.toMatch(/^x[123]\s/m);
    expect(isEmptyDir(f.fifoDir)).toBe(true);
    const both = await run(["--rm", "-d", f.image, "x4", "true"]);
    expect(both.stderr).toBe("ctr: flags --detach and --rm cannot be specified together\n");
    for (const [dev, x] of [
      ["/dev/nope", "x5"],
      ["/dev/stdout", "x6"], // a symlink, not a device node
    ] as const) {
      // Different ids: the snapshot ctr prepared before the spec failed goes with its lease, at the next collection.
      const stock = await f.ctr(["run", "--rm", "--device", dev, f.image, `${x}-stock`, "true"]);
      const ours = await f.tsctr(["run", "--rm", "--device", dev, "--fifo-dir", f.fifoDir, f.image, x, "true"]);
      expect(stock.code).toBe(1);
      expect(ours.code).toBe(1);
      expect(ours.stderr).toBe(stock.stderr);
    }
  });
});

describe("the spec tsctr writes", () => {
  let f: TaskFixture;
  let client: Client;
  beforeAll(async () => {
    f = await startTaskFixture();
    client = await Client.connect(f.daemon.address, { namespace: f.namespace });
  });
  afterAll(async () => {
    client?.close();
    await f?.cleanup();
  });

  async function rawSpec(id: string): Promise<string> {
    const c = await client.containers.get(client.context(), id);
    return new TextDecoder().decode(c.spec!.value).replaceAll(`/${f.namespace}/${id}"`, '/NS/ID"');
  }

  it.each([
    ["containers create", ["containers", "create"], []],
    ["containers create with flags", ["containers", "create"], ["--env", "A=1", "--cwd", "/tmp", "--net-host", "-t", "--mount", "type=bind,src=/tmp,dst=/mnt,options=rbind:ro", "--label", "k=v", "--annotation", "a=b", "--cap-add", "CAP_SYS_ADMIN", "--cap-drop", "CAP_KILL", "--memory-limit", "1048576", "--read-only"]],
    ["run -d", ["run", "-d", "--null-io"], ["--env", "B=2", "--cpus", "0.5", "--cgroup", "/my/cg"]],
    // Every capability of the caller, the host's /dev, writeable sysfs and cgroupfs, no masked paths.
    ["run -d --privileged", ["run", "-d", "--null-io"], ["--privileged", "--net-host"]],
    // One device, a directory tree of devices, each with its cgroup rule.
    ["containers create --device", ["containers", "create"], ["--device", "/dev/null", "--device", "/dev/net", "--memory-limit", "1048576"]],
  ])("%s: byte for byte what the stock ctr writes, and the same record", async (_name, verb, flags) => {
    const args = ["sleep", "1000"];
    expect((await f.ctr([...verb, ...flags, f.image, "stock", ...args])).code).toBe(0);
    const ours = await f.tsctr([...verb, ...flags, f.image, "ours", ...args]);
    expect(ours.stderr).toBe("");
    expect(ours.code).toBe(0);
    expect(await rawSpec("ours")).toBe(await rawSpec("stock"));
    const [a, b] = await Promise.all([client.containers.get(client.context(), "stock"), client.containers.get(client.context(), "ours")]);
    expect({ ...b, id: "", snapshotKey: "", spec: undefined, createdAt: 0, updatedAt: 0 }).toEqual({ ...a, id: "", snapshotKey: "", spec: undefined, createdAt: 0, updatedAt: 0 });
    await f.removeAll();
  });
});

describe.each([RUNC_V2, TSRUNC])("tsctr against containerd 1.6 with runtime %s", (runtime) => {
  let f: TaskFixture;
  beforeAll(async () => {
    f = await startTaskFixture("containerd");
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("runs, execs, lists, kills and removes as against containertsd, writing ctr's spec", async () => {
    const r = await f.tsctr(["run", "--rm", "--runtime", runtime, "--fifo-dir", f.fifoDir, f.image, "c1", "sh", "-c", "echo hi; exit 3"], { input: "" });
    expect(r.stdout).toBe("hi\n");
    expect(r.code).toBe(3);

    expect((await f.tsctr(["run", "-d", "--runtime", runtime, "--fifo-dir", f.fifoDir, f.image, "c2", "sleep", "1000"])).code).toBe(0);
    expect((await f.tsctr(["tasks", "ls"])).stdout).toBe((await f.ctr(["tasks", "ls"])).stdout);
    const ex = await f.tsctr(["tasks", "exec", "--fifo-dir", f.fifoDir, "--exec-id", "e1", "c2", "sh", "-c", "echo in-exec; exit 7"]);
    expect([ex.stdout, ex.code]).toEqual(["in-exec\n", 7]);
    expect((await f.tsctr(["tasks", "ps", "c2"])).stdout).toBe((await f.ctr(["tasks", "ps", "c2"])).stdout);
    expect((await f.tsctr(["tasks", "kill", "-s", "KILL", "c2"])).code).toBe(0);
    await eventually(async () => ((await f.ctr(["tasks", "ls"])).stdout.match(/^c2 +\d+ +STOPPED$/m) ? true : undefined), "c2 to stop");
    expect((await f.tsctr(["tasks", "rm", "c2"])).code).toBe(0);

    expect((await f.ctr(["containers", "create", "--runtime", runtime, f.image, "stock", "true"])).code).toBe(0);
    expect((await f.tsctr(["containers", "create", "--runtime", runtime, f.image, "ours", "true"])).code).toBe(0);
    const stock = (await f.ctr(["containers", "info", "--spec", "stock"])).stdout.replaceAll("/stock", "/ID");
    expect((await f.ctr(["containers", "info", "--spec", "ours"])).stdout.replaceAll("/ours", "/ID")).toBe(stock);
    await f.removeAll();
    expect(isEmptyDir(f.fifoDir)).toBe(true);
  });
});
