/**
 * The `start` action: find or create the shim's socket, start the long-running server with the listening
 * socket as fd 3, write `address` into the bundle, print the address and exit.
 *
 * Run by the daemon with cwd = the bundle, the task options Any on stdin, and it waits for this process to
 * exit, taking its output as the address. The server is detached: a new session, stdin and stdout on
 * /dev/null, stderr on the bundle's `log` FIFO when the daemon reads it (else /dev/null), so nothing holds
 * the pipes of this process open. When the grouping id names a shim that is already serving (the
 * `io.containerd.runc.v2.group` annotation), that shim's address is reused and no server is started.
 */
import { spawn } from "node:child_process";
import { chmodSync, closeSync, constants, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import * as net from "node:net";
import { dirname, join } from "node:path";
import { FailedPreconditionError, InvalidArgumentError, UnknownError, withContext } from "@containerts/errdefs";
import { readMountInfo } from "@containerts/sys";
import { canConnect, groupingId, isPathAddress, lockPath, sharedShim, socketAddress, socketPath } from "./address.js";
import type { ShimFlags } from "./flags.js";
import { shimCgroupFromStdin } from "./grpc/start-options.js";

/** Node flags of the long-running server: a small young generation keeps the resident set down. */
export const SERVER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1", "--max-old-space-size=128"];

/** What {@link runStart} needs besides the flags. */
export interface StartEnv {
  /** The bundle (the working directory). */
  readonly bundle: string;
  /** The script to run the server with (this program). */
  readonly script: string;
  /** The task options Any as read from stdin (may be empty). */
  readonly stdin: Uint8Array;
}

/**
 * The server's environment: the daemon's (as containerd gives its shims), without `NODE_EXTRA_CA_CERTS`
 * (the shim speaks no TLS, and Node would parse the bundle at start-up), with a small libuv thread pool.
 */
export function serverEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, UV_THREADPOOL_SIZE: env["UV_THREADPOOL_SIZE"] ?? "2" };
  delete out["NODE_EXTRA_CA_CERTS"];
  return out;
}

/** Reads all of stdin (the task options Any); nothing when stdin is a terminal. */
export async function readStdin(): Promise<Uint8Array> {
  if (process.stdin.isTTY) return new Uint8Array(0);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Writes `address` atomically into the bundle. */
function writeAddress(bundle: string, address: string): void {
  const tmp = join(bundle, ".address.tmp");
  writeFileSync(tmp, address, { mode: 0o600 });
  renameSync(tmp, join(bundle, "address"));
}

/** Listens on the socket path; resolves with the server, or undefined when the path is in use. */
function listen(path: string): Promise<net.Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (err: NodeJS.ErrnoException) => (err.code === "EADDRINUSE" ? resolve(undefined) : reject(err)));
    server.listen({ path }, () => resolve(server));
  });
}

/** The annotations of the bundle's config.json. */
async function annotations(bundle: string): Promise<Record<string, string> | undefined> {
  const spec = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as { annotations?: Record<string, string> };
  return spec.annotations;
}

/** Moves `pid` into the cgroup `path` (relative to each hierarchy root). */
export function joinCgroup(pid: number, path: string): void {
  const mounts = readMountInfo().filter((m) => m.fsType === "cgroup" || m.fsType === "cgroup2");
  const v1 = mounts.filter((m) => m.fsType === "cgroup");
  const targets = (v1.length > 0 ? v1 : mounts).map((m) => join(m.mountPoint, path, "cgroup.procs"));
  let joined = 0;
  for (const t of targets) {
    try {
      writeFileSync(t, String(pid));
      joined++;
    } catch {
      // this hierarchy has no such cgroup
    }
  }
  if (joined === 0) throw new FailedPreconditionError(`failed to join cgroup ${path}`);
}

/** Gives `pid` the OOM score adjustment of our parent (the daemon) plus one, as containerd does. */
function adjustOomScore(pid: number): void {
  const parent = Number(readFileSync(`/proc/${process.ppid}/oom_score_adj`, "utf8").trim());
  const score = Math.min(1000, (Number.isInteger(parent) ? parent : 0) + 1);
  writeFileSync(`/proc/${pid}/oom_score_adj`, String(score));
}

/** Opens the bundle's `log` FIFO for writing if a reader has it open; "ignore" otherwise. */
function openLog(bundle: string): number | "ignore" {
  try {
    return openSync(join(bundle, "log"), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return "ignore";
  }
}

/**
 * Runs `start`; resolves with the address to print. Errors: InvalidArgument for missing flags, the
 * errors of reading config.json, listening, and starting the server (the socket is removed then).
 */
export async function runStart(flags: ShimFlags, env: StartEnv): Promise<string> {
  if (flags.namespace === "") throw new InvalidArgumentError("shim namespace cannot be empty");
  if (flags.id === "") throw new InvalidArgumentError("shim id cannot be empty");
  const address = socketAddress(flags.address, flags.namespace, groupingId(flags.id, await annotations(env.bundle), sharedShim()));
  const path = socketPath(address);
  if (isPathAddress(address)) mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
  let server = await listen(path);
  if (server === undefined) {
    if (await canConnect(address)) {
      writeAddress(env.bundle, address);
      return address;
    }
    // A dead shim's socket (and lock file, see lockPath): the new server writes a new lock file.
    unlinkSync(path);
    rmSync(lockPath(path), { force: true });
    server = await listen(path);
    if (server === undefined) throw new UnknownError(`create new shim socket ${path}: address already in use`, { bare: true });
  }
  try {
    if (isPathAddress(address)) chmodSync(path, 0o600);
    writeAddress(env.bundle, address);
    const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === undefined || fd < 0) throw new UnknownError("shim socket has no file descriptor", { bare: true });
    const log = openLog(env.bundle);
    const args = [...SERVER_NODE_FLAGS, env.script, "-namespace", flags.namespace, "-id", flags.id, "-address", flags.address];
    if (flags.debug) args.push("-debug");
    const child = spawn(process.execPath, args, {
      cwd: env.bundle,
      detached: true,
      stdio: ["ignore", "ignore", log, fd],
      env: serverEnv(process.env),
    });
    if (typeof log === "number") closeSync(log);
    const pid = child.pid;
    if (pid === undefined) {
      const err = await new Promise<unknown>((resolve) => child.once("error", resolve));
      throw withContext(err, "start shim server");
    }
    child.unref();
    try {
      const cgroup = shimCgroupFromStdin(env.stdin);
      if (cgroup !== "") joinCgroup(pid, cgroup);
      adjustOomScore(pid);
    } catch (err) {
      process.kill(pid, "SIGKILL");
      throw err;
    }
    // The server owns the socket now; this process exits without closing it (closing would unlink it).
    return address;
  } catch (err) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
    throw err;
  }
}
