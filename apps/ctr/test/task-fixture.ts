/**
 * A daemon for task tests: containertsd (or containerd 1.6) on temp paths with our shim on its PATH, the
 * busybox test image imported with the stock ctr, a private FIFO directory, and a cleanup that removes
 * every task, container, shim, mount, FIFO and temp file the tests made, even after a failure.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { buildBusybox, BUSYBOX_IMAGE } from "@containerts/testimages";
import { ctr, repoRoot, run, startContainerd, startContainertsd, tsctrBin, unmountUnder, type RunResult, type TestDaemon } from "@containerts/testkit";

/** Where our shim's launcher lives (containerd-shim-tsrunc-v1). */
export const SHIM_BIN_DIR = join(repoRoot, "packages/shim-runc/bin");
/** Our shim's runtime name. */
export const TSRUNC = "io.containerts.tsrunc.v1";
/** The stock runc shim's runtime name. */
export const RUNC_V2 = "io.containerd.runc.v2";

/** A daemon with the busybox image, for task tests. */
export interface TaskFixture {
  readonly daemon: TestDaemon;
  /** A temp directory of the fixture (removed by cleanup). */
  readonly dir: string;
  /** The FIFO directory the tests pass with `--fifo-dir`. */
  readonly fifoDir: string;
  readonly image: string;
  /**
   * The namespace every command uses: unique, because the stock runc shim keeps its state per namespace
   * under a host-wide root (`/run/containerd/runc/<namespace>`) that other daemons share.
   */
  readonly namespace: string;
  /** Runs tsctr against the daemon. */
  tsctr(args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Runs the stock ctr against the daemon. */
  ctr(args: readonly string[], opts?: { input?: string }): Promise<RunResult>;
  /** Starts a long-running CLI process, killed by PID in cleanup if still running. */
  spawnCli(bin: "tsctr" | "ctr", args: readonly string[]): ChildProcess;
  /** Removes every task and container of the namespace (SIGKILL first). */
  removeAll(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Pids of processes whose command line contains `needle` (our daemon's shims carry its socket path). */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").includes(needle)) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Removes what running containers in namespace `ns` leaves on the host outside our temp paths once they
 * are deleted: the stock runc shim's state root `/run/containerd/runc/<ns>` and the namespace's parent
 * cgroups `<hierarchy>/<ns>` (runc removes the containers' own). Only empty directories are removed.
 */
export function removeNamespaceLeftovers(ns: string): void {
  const dirs = [join("/run/containerd/runc", ns)];
  for (const h of existsSync("/sys/fs/cgroup") ? readdirSync("/sys/fs/cgroup") : []) dirs.push(join("/sys/fs/cgroup", h, ns));
  dirs.push(join("/sys/fs/cgroup", ns));
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      // absent, not empty, or not a directory
    }
  }
}

/** Starts a daemon (containertsd by default) with our shim on its PATH and imports busybox with the stock ctr. */
export async function startTaskFixture(kind: "containerts" | "containerd" = "containerts"): Promise<TaskFixture> {
  const dir = await mkdtemp(join(tmpdir(), "tsctr-tasks-"));
  const fifoDir = join(dir, "fifo");
  const namespace = `tsctr-${basename(dir).slice(-6).toLowerCase().replace(/[^a-z0-9]/g, "x")}`;
  const children = new Set<ChildProcess>();
  let daemon: TestDaemon | undefined;
  try {
    await mkdir(fifoDir);
    const archive = join(dir, "busybox.tar");
    await buildBusybox(archive);
    const env = { PATH: `${SHIM_BIN_DIR}:${process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` };
    daemon = kind === "containerts" ? await startContainertsd({ env }) : await startContainerd({ env });
    const d = daemon;
    const imported = await ctr(d, ["images", "import", archive], { namespace });
    if (imported.code !== 0) throw new Error(`ctr images import: ${imported.stderr}`);
    const fixture: TaskFixture = {
      daemon: d,
      dir,
      fifoDir,
      image: BUSYBOX_IMAGE,
      namespace,
      tsctr: (args, opts = {}) =>
        run(tsctrBin, ["--address", d.address, "--namespace", namespace, ...args], {
          ...(opts.input === undefined ? {} : { input: opts.input }),
          ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
        }),
      ctr: (args, opts = {}) => ctr(d, args, { ...opts, namespace }),
      spawnCli(bin, args) {
        const child = spawn(bin === "tsctr" ? tsctrBin : "ctr", ["--address", d.address, "--namespace", namespace, ...args], {
          stdio: ["pipe", "pipe", "pipe"],
        });
        children.add(child);
        child.once("exit", () => children.delete(child));
        return child;
      },
      async removeAll() {
        const tasks = (await ctr(d, ["tasks", "ls", "-q"], { namespace })).stdout.split("\n").filter((s) => s !== "");
        for (const t of tasks) {
          await ctr(d, ["tasks", "kill", "-a", "-s", "SIGKILL", t], { namespace });
          await ctr(d, ["tasks", "rm", "-f", t], { namespace });
        }
        const containers = (await ctr(d, ["containers", "ls", "-q"], { namespace })).stdout.split("\n").filter((s) => s !== "");
        for (const c of containers) await ctr(d, ["containers", "rm", c], { namespace });
      },
      async cleanup() {
        for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, "SIGKILL");
        try {
          await fixture.removeAll();
        } finally {
          await d.cleanup();
          // Shims outlive a daemon that stopped before their task was deleted: ours carry its address.
          for (const pid of processesWith(d.address)) {
            try {
              process.kill(pid, "SIGKILL");
            } catch {
              // gone
            }
          }
          removeNamespaceLeftovers(namespace);
          unmountUnder(dir);
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
    return fixture;
  } catch (err) {
    await daemon?.cleanup();
    unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Polls `fn` until it returns a value that is not undefined (at most `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when nothing is left in a directory (or it is gone). */
export function isEmptyDir(path: string): boolean {
  return !existsSync(path) || readdirSync(path).length === 0;
}
