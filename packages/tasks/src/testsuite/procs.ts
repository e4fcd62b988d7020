/**
 * Process and resource helpers for tests: find the shims of a daemon address (by their command line,
 * then act on their PIDs only), check for zombies, build a busybox root filesystem, clean up runc state.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { chmod, copyFile, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FailedPreconditionError } from "@containerts/errdefs";

/** The command line of a process, or undefined when it is gone. */
export function cmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((s) => s !== "");
  } catch {
    return undefined;
  }
}

/** The state letter of a process (`R`, `S`, `Z`, …), or undefined when it is gone. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** The parent pid of a process, or undefined. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number);
}

/** PIDs of the shim processes started for a daemon address (`-address <address>` on their command line). */
export function shimPidsFor(address: string): number[] {
  const out: number[] = [];
  for (const pid of allPids()) {
    const args = cmdline(pid);
    if (args === undefined) continue;
    const i = args.indexOf("-address");
    if (i >= 0 && args[i + 1] === address && args.some((a) => a.includes("containerd-shim"))) out.push(pid);
  }
  return out;
}

/** Zombie children of the given parents. */
export function zombiesOf(parents: readonly number[]): number[] {
  const set = new Set(parents);
  return allPids().filter((pid) => procState(pid) === "Z" && set.has(parentPid(pid) ?? -1));
}

/** True while `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
  const s = procState(pid);
  return s !== undefined && s !== "Z";
}

/** Sends SIGKILL to each pid (ignoring those already gone). */
export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** Waits until `cond` holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Builds a busybox root filesystem in `dir` from Debian's static busybox (/bin/busybox). */
export async function makeBusyboxRootfs(dir: string): Promise<void> {
  if (!existsSync("/bin/busybox")) throw new FailedPreconditionError("/bin/busybox is missing: install busybox-static (./quickstart.sh setup)");
  for (const d of ["bin", "dev", "proc", "sys", "tmp", "etc", "run", "root"]) await mkdir(join(dir, d), { recursive: true });
  await copyFile("/bin/busybox", join(dir, "bin/busybox"));
  await chmod(join(dir, "bin/busybox"), 0o755);
  const list = spawnSync("/bin/busybox", ["--list"], { encoding: "utf8" }).stdout.split("\n").filter((s) => s !== "" && s !== "busybox");
  for (const applet of list) await symlink("busybox", join(dir, "bin", applet)).catch(() => undefined);
  await writeFile(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  await writeFile(join(dir, "etc/group"), "root:x:0:\n");
}

/** The runc roots of the stock shim (`/run/containerd/runc`) and of ours (`/run/containerts/runc`). */
export const RUNC_ROOTS: readonly string[] = ["/run/containerd/runc", "/run/containerts/runc"];

/**
 * Force-deletes the runc containers of a namespace under each runc root, then removes the namespace's runc
 * state directories.
 */
export async function cleanupRunc(namespace: string, runcRoots: readonly string[] = RUNC_ROOTS): Promise<void> {
  for (const runcRoot of runcRoots) {
    const root = join(runcRoot, namespace);
    if (!existsSync(root)) continue;
    const list = spawnSync("runc", ["--root", root, "list", "-q"], { encoding: "utf8" });
    for (const id of list.stdout.split("\n").filter((s) => s !== "")) {
      spawnSync("runc", ["--root", root, "delete", "-f", id], { stdio: "ignore" });
    }
    await rm(root, { recursive: true, force: true });
  }
}

/** Mount points at or below `prefix`. */
export function mountsUnder(prefix: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (!mp) continue;
    const p = mp.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (p === prefix || p.startsWith(`${prefix}/`)) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or below `prefix` (lazily). */
export function unmountUnder(prefix: string): void {
  for (let i = 0; i < 8; i++) {
    const mps = mountsUnder(prefix);
    if (mps.length === 0) return;
    for (const mp of mps) spawnSync("umount", ["-l", mp], { stdio: "ignore" });
  }
}

/**
 * Removes the (empty) cgroups `/<namespace>` that runc leaves as parents of `/<namespace>/<id>` in every
 * hierarchy under /sys/fs/cgroup (containerd leaves them too; `ctr ns rm --cgroup` removes them).
 */
export function cleanupCgroups(namespace: string): void {
  let hierarchies: string[];
  try {
    hierarchies = readdirSync("/sys/fs/cgroup");
  } catch {
    return;
  }
  for (const h of [...hierarchies.map((n) => join("/sys/fs/cgroup", n)), "/sys/fs/cgroup"]) {
    const dir = join(h, namespace);
    if (existsSync(dir)) spawnSync("find", [dir, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"], { stdio: "ignore" });
  }
}

/**
 * Removes a shim socket left by a shim that was killed (`unix://` address from the bundle's `address`),
 * and the lock file a shared containerd-shim-tsrunc-v1 keeps beside it (`<socket>.lock`).
 */
export async function removeShimSocket(address: string | undefined): Promise<void> {
  if (address === undefined || !address.startsWith("unix://")) return;
  const path = address.slice("unix://".length);
  await rm(path, { force: true });
  await rm(`${path}.lock`, { force: true });
}
