/**
 * Test kit shared by the integration tests and the benchmark runner: start containertsd (built) or the
 * stock containerd 1.6 on private temp paths, run the stock `ctr` or `tsctr` against them, and clean up
 * everything they created (processes by PID, mounts under the temp root, the temp root itself).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository root (tools/testkit/src → ../../..). */
export const repoRoot = resolve(new URL("../../..", import.meta.url).pathname);
/** Path of the built daemon launcher. */
export const containertsdBin = join(repoRoot, "apps/daemon/bin/containertsd");
/** Path of the built CLI launcher. */
export const tsctrBin = join(repoRoot, "apps/ctr/bin/tsctr");

/**
 * Environment every test daemon starts with (overridable by the caller's environment and `env`): shared
 * shims linger 1 s after their last container instead of 10 s, so that the shims of a finished test do
 * not outlive it and the checks that shims go away stay quick.
 */
export const SHIM_TEST_ENV: Readonly<Record<string, string>> = { CONTAINERTS_SHIM_LINGER_MS: "1000" };

/** A running daemon under test. */
export interface TestDaemon {
  readonly kind: "containerts" | "containerd";
  /** Temp directory holding root, state, socket and config. */
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  readonly address: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Everything the daemon wrote on stderr so far. */
  logs(): string;
  /** Sends SIGTERM and waits for exit (SIGKILL after `timeoutMs`). Returns the exit code or signal. */
  stop(timeoutMs?: number): Promise<number | string | null>;
  /** Sends SIGKILL and waits for exit. */
  kill(): Promise<void>;
  /** Stops the daemon (if running), unmounts anything under `dir`, and removes `dir`. */
  cleanup(): Promise<void>;
}

/** Options for starting a test daemon. */
export interface StartOptions {
  /** Reuse an existing temp dir (root/state/socket inside it), e.g. to restart a daemon on the same paths. */
  readonly dir?: string;
  /** Extra TOML appended to the config file. */
  readonly config?: string;
  /** Extra command-line arguments. */
  readonly args?: readonly string[];
  /** Environment additions. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for the socket to answer. */
  readonly readyTimeoutMs?: number;
  /** Start with {@link SHIM_TEST_ENV} (default true); benchmarks turn it off to measure the defaults. */
  readonly testEnv?: boolean;
}

function waitForSocket(path: string, child: ChildProcess, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolvePromise, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`daemon exited (${child.exitCode ?? child.signalCode}) before serving:\n${logs()}`));
        return;
      }
      if (Date.now() > deadline) {
        reject(new Error(`daemon did not answer on ${path} within ${timeoutMs} ms:\n${logs()}`));
        return;
      }
      if (!existsSync(path)) {
        setTimeout(attempt, 20);
        return;
      }
      const s = connect(path);
      s.once("connect", () => {
        s.destroy();
        resolvePromise();
      });
      s.once("error", () => {
        s.destroy();
        setTimeout(attempt, 20);
      });
    };
    attempt();
  });
}

/** Mount points at or below `prefix`, deepest first (from /proc/self/mountinfo). */
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

/** Unmounts everything at or below `prefix` (lazily when busy). */
export function unmountUnder(prefix: string): void {
  for (let i = 0; i < 8; i++) {
    const mps = mountsUnder(prefix);
    if (mps.length === 0) return;
    for (const mp of mps) spawnSync("umount", ["-l", mp], { stdio: "ignore" });
  }
}

/**
 * PIDs of the shim processes of a daemon: `containerd-shim…` programs whose command line has
 * `-address <address>` (how containerd and containertsd start their shims).
 */
export function shimPidsOf(address: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const i = args.indexOf("-address");
    if (i >= 0 && args[i + 1] === address && args.some((a) => a.includes("containerd-shim"))) out.push(Number(name));
  }
  return out;
}

/**
 * Waits up to `timeoutMs` for a stopped daemon's shims to exit (an idle shared shim leaves within a second
 * once its daemon's socket is gone), then kills the rest by PID. Returns the PIDs that had to be killed.
 */
export async function reapShims(address: string, timeoutMs = 3000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let pids = shimPidsOf(address);
  while (pids.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    pids = shimPidsOf(address);
  }
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once("exit", () => r()));
}

function track(kind: TestDaemon["kind"], dir: string, root: string, state: string, address: string, child: ChildProcess): TestDaemon {
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    stderr += d;
    if (stderr.length > 4 << 20) stderr = stderr.slice(-(2 << 20));
  });
  child.stdout?.resume();
  const stop = async (timeoutMs = 10_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exited(child);
      clearTimeout(t);
    }
    return child.exitCode ?? child.signalCode;
  };
  return {
    kind,
    dir,
    root,
    state,
    address,
    pid: child.pid ?? -1,
    process: child,
    logs: () => stderr,
    stop,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited(child);
    },
    async cleanup() {
      await stop(5000);
      unmountUnder(dir);
      await rm(dir, { recursive: true, force: true });
      await reapShims(address);
    },
  };
}

/**
 * Starts the built containertsd on temp paths (`<dir>/root`, `<dir>/state`, `<dir>/s.sock`) and waits until
 * its socket answers.
 */
export async function startContainertsd(opts: StartOptions = {}): Promise<TestDaemon> {
  if (!existsSync(containertsdBin)) throw new Error(`${containertsdBin} is missing: run pnpm build first`);
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "ctsd-")));
  const root = join(dir, "root");
  const state = join(dir, "state");
  const address = join(dir, "s.sock");
  const cfg = join(dir, "config.toml");
  await writeFile(cfg, `version = 2\n${opts.config ?? ""}\n`);
  const child = spawn(
    containertsdBin,
    ["--config", cfg, "--root", root, "--state", state, "--address", address, ...(opts.args ?? [])],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...(opts.testEnv === false ? {} : SHIM_TEST_ENV), ...process.env, ...opts.env } },
  );
  const d = track("containerts", dir, root, state, address, child);
  try {
    await waitForSocket(address, child, opts.readyTimeoutMs ?? 20_000, d.logs);
  } catch (err) {
    await d.cleanup();
    throw err;
  }
  return d;
}

/** Path of the stock containerd binary (Debian package `containerd`). */
export function containerdBin(): string {
  const r = spawnSync("sh", ["-c", "command -v containerd"], { encoding: "utf8" });
  const p = r.stdout.trim();
  if (!p) throw new Error("containerd is not installed: run ./quickstart.sh setup (Debian package containerd)");
  return p;
}

/** Starts the stock containerd 1.6 on temp paths (CRI disabled) and waits until its socket answers. */
export async function startContainerd(opts: StartOptions = {}): Promise<TestDaemon> {
  const bin = containerdBin();
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "ctrd-")));
  const root = join(dir, "root");
  const state = join(dir, "state");
  const address = join(dir, "c.sock");
  const cfg = join(dir, "config.toml");
  await writeFile(
    cfg,
    [
      "version = 2",
      `root = "${root}"`,
      `state = "${state}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${address}"`,
      "[plugins]",
      '  [plugins."io.containerd.internal.v1.opt"]',
      `    path = "${join(dir, "opt")}"`,
      opts.config ?? "",
      "",
    ].join("\n"),
  );
  const child = spawn(bin, ["--config", cfg, ...(opts.args ?? [])], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...(opts.testEnv === false ? {} : SHIM_TEST_ENV), ...process.env, ...opts.env },
  });
  const d = track("containerd", dir, root, state, address, child);
  try {
    await waitForSocket(address, child, opts.readyTimeoutMs ?? 20_000, d.logs);
  } catch (err) {
    await d.cleanup();
    throw err;
  }
  return d;
}

/** Result of a CLI run. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion with optional stdin, never throwing on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...opts.env }, ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const t = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(t);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs the stock `ctr` (Debian containerd 1.6) against a daemon in a namespace. */
export function ctr(d: { address: string }, args: readonly string[], opts: { namespace?: string; input?: string | Buffer } = {}): Promise<RunResult> {
  return run("ctr", ["--address", d.address, "--namespace", opts.namespace ?? "default", ...args], opts.input === undefined ? {} : { input: opts.input });
}

/** Runs our `tsctr` against a daemon in a namespace. */
export function tsctr(d: { address: string }, args: readonly string[], opts: { namespace?: string; input?: string | Buffer } = {}): Promise<RunResult> {
  return run(tsctrBin, ["--address", d.address, "--namespace", opts.namespace ?? "default", ...args], opts.input === undefined ? {} : { input: opts.input });
}

/** Reads a file if it exists. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}
export { startRegistry, freePort, type TestRegistry } from "./registry.js";
export { startStaticRegistry, startProxy, type HttpFake, type ProxyOptions, type SeenRequest, type StaticContent } from "./http-fakes.js";
