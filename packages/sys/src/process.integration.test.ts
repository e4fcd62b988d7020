import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { SysError } from "./errors.js";
import { closeFd } from "./fd.js";
import {
  getpgid,
  isChildSubreaper,
  pidfdOpen,
  pidfdSendSignal,
  pidfdWait,
  setChildSubreaper,
  setsid,
  type WaitResult,
  waitpidNoHang,
} from "./process.js";

const children: ChildProcess[] = [];
const orphans: number[] = [];
const fds: number[] = [];

afterEach(async () => {
  for (const fd of fds.splice(0)) closeFd(fd);
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  for (const pid of orphans.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    // Reap it so no zombie outlives the test; ECHILD means it is not (or no longer) ours.
    for (let i = 0; i < 500; i++) {
      try {
        if (waitpidNoHang(pid) !== undefined) break;
      } catch {
        break;
      }
      await sleep(10);
    }
  }
});

/** Runs `sh -c script` (spawned by Node, so Node reaps it) and returns its stdout once it exits. */
async function sh(script: string): Promise<string> {
  const child = spawn("sh", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  await once(child, "close");
  return out.trim();
}

/**
 * A shell command that runs in the background of `sh`, waits until it has been re-parented (its parent
 * `sh`, whose pid it gets as $1, exited), then exits with `code`. Waiting keeps `sh` from reaping it first.
 */
function orphan(code: number): string {
  return `sh -c 'while [ "$(cut -d" " -f4 /proc/$$/stat)" = "$1" ]; do sleep 0.01; done; exit ${code}' sh $$ >/dev/null & echo $!`;
}

/** Polls waitpidNoHang until the process is reaped (the test timeout bounds it). */
async function reap(pid: number, skip?: (pid: number) => boolean): Promise<WaitResult> {
  for (;;) {
    const r = skip === undefined ? waitpidNoHang(pid) : waitpidNoHang(pid, { skip });
    if (r !== undefined) return r;
    await sleep(5);
  }
}

describe("subreaper and waitpidNoHang", () => {
  it("reaps an orphaned grandchild with its exit status", async () => {
    setChildSubreaper();
    expect(isChildSubreaper()).toBe(true);
    // The outer sh (a Node child) backgrounds a grandchild and exits at once; the grandchild is
    // re-parented to this process, a subreaper, and then exits 7.
    const pid = Number(await sh(orphan(7)));
    orphans.push(pid);
    expect(Number.isInteger(pid) && pid > 0).toBe(true);
    const r = await reap(pid);
    expect(r).toStrictEqual({ pid, exitStatus: 7, signaled: false });
    orphans.pop();
    expect(() => waitpidNoHang(pid)).toThrow(expect.objectContaining({ code: "ECHILD", syscall: "waitpid" }));
  });

  it("reports a signal as 128 + signo", async () => {
    setChildSubreaper();
    const pid = Number(await sh("sleep 30 >/dev/null & echo $!"));
    orphans.push(pid);
    expect(waitpidNoHang(pid)).toBeUndefined();
    process.kill(pid, "SIGTERM");
    expect(await reap(pid)).toStrictEqual({ pid, exitStatus: 143, signaled: true });
    orphans.pop();
  });

  it("reaps any child with pid -1 while skipping the ones Node owns", async () => {
    setChildSubreaper();
    // A Node-spawned child that exits while we reap: it must be left for libuv.
    const nodeChild = spawn("sh", ["-c", "exit 3"], { stdio: "ignore" });
    children.push(nodeChild);
    const nodeExit = once(nodeChild, "exit");
    const pid = Number(await sh(orphan(5)));
    orphans.push(pid);
    const owned = new Set([nodeChild.pid]);
    // Other orphans of this worker may come first; keep reaping until ours shows up.
    let r: WaitResult;
    do r = await reap(-1, (p) => owned.has(p));
    while (r.pid !== pid);
    expect(r).toStrictEqual({ pid, exitStatus: 5, signaled: false });
    orphans.pop();
    const [code] = await nodeExit;
    expect(code).toBe(3);
  });
});

describe("pidfd", () => {
  it("opens a pidfd for a child, signals it and sees it exit", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    children.push(child);
    await once(child, "spawn");
    const pidfd = pidfdOpen(child.pid as number);
    fds.push(pidfd);
    const exited = pidfdWait(pidfd);
    const childExit = once(child, "exit");
    pidfdSendSignal(pidfd, "SIGTERM");
    await exited;
    const [code, signal] = await childExit;
    expect([code, signal]).toStrictEqual([null, "SIGTERM"]);
    // The process is gone: signalling through its pidfd fails with ESRCH.
    expect(() => pidfdSendSignal(pidfd, 15)).toThrow(expect.objectContaining({ code: "ESRCH" }));
  });

  it("stops waiting when aborted", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    children.push(child);
    await once(child, "spawn");
    const pidfd = pidfdOpen(child.pid as number);
    fds.push(pidfd);
    const ac = new AbortController();
    const waiting = pidfdWait(pidfd, ac.signal);
    ac.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
  });

  it("throws ESRCH for a pid that does not exist", () => {
    const err = (() => {
      try {
        pidfdOpen(0x3fffffff);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: "ESRCH", syscall: "pidfd_open" });
  });
});

describe("process groups and sessions", () => {
  it("reads process groups and starts a new session", async () => {
    expect(getpgid(0)).toBe(getpgid(process.pid));
    const child = spawn("sleep", ["30"], { stdio: "ignore", detached: true });
    children.push(child);
    await once(child, "spawn");
    expect(getpgid(child.pid as number)).toBe(child.pid);
    expect(() => getpgid(0x3fffffff)).toThrow(expect.objectContaining({ code: "ESRCH" }));

    // The vitest worker is not a group leader, so it may start its own session.
    if (getpgid(0) === process.pid) {
      expect(() => setsid()).toThrow(expect.objectContaining({ code: "EPERM" }));
    } else {
      expect(setsid()).toBe(process.pid);
      expect(getpgid(0)).toBe(process.pid);
      expect(() => setsid()).toThrow(expect.objectContaining({ code: "EPERM" }));
    }
  });
});
