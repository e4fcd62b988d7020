/**
 * Process calls: subreaper, pidfds, non-blocking reaping, process groups and sessions.
 *
 * ## Reaping next to libuv
 *
 * Node's `child_process` reaps the children *it* spawned: on SIGCHLD, libuv calls `waitpid(pid, WNOHANG)`
 * for each pid it spawned and still tracks, never `waitpid(-1)`. Two rules follow:
 *
 * - `waitpidNoHang(pid)` with a specific pid is safe for any process Node did not spawn: orphans
 *   re-parented to a subreaper, or the container process a runtime forked. Never pass a pid that
 *   `child_process` spawned: you would take its status, and its `exit` event would never fire.
 * - `waitpidNoHang(-1)` reaps *any* child, including Node's own. In a process that also uses
 *   `child_process`, pass `skip` (true for pids Node spawned and has not reported exited yet); the
 *   call then only peeks (waitid with WNOWAIT) and leaves such a child for libuv.
 *
 * To learn when to reap, listen to `process.on("SIGCHLD")` (Node lets several listeners share it with
 * libuv) and drain `waitpidNoHang(-1, { skip })` until it returns undefined, or watch one process with
 * `pidfdOpen` + {@link pidfdWait}.
 */
import { constants } from "node:os";
import { InvalidArgumentError } from "@containerts/errdefs";
import { SysError } from "./errors.js";
import { libc, pollReadable } from "./internal/libc.js";

const PR_SET_CHILD_SUBREAPER = 36;
const PR_GET_CHILD_SUBREAPER = 37;
const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_PIDFD_OPEN = 434;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const P_ALL = 0;
const EINTR = 4;
const SIGINFO_SIZE = 128;
const SIGINFO_PID = 16;

/** Marks this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER): orphaned descendants are re-parented to it. */
export function setChildSubreaper(): void {
  const c = libc();
  if (c.prctl(PR_SET_CHILD_SUBREAPER, "unsigned long", 1, "unsigned long", 0, "unsigned long", 0, "unsigned long", 0) !== 0) {
    throw new SysError(c.errno(), "prctl");
  }
}

/** True when this process is a child subreaper (prctl PR_GET_CHILD_SUBREAPER). */
export function isChildSubreaper(): boolean {
  const c = libc();
  const out = new Int32Array(1);
  if (c.prctl(PR_GET_CHILD_SUBREAPER, "int *", out, "unsigned long", 0, "unsigned long", 0, "unsigned long", 0) !== 0) {
    throw new SysError(c.errno(), "prctl");
  }
  return out[0] !== 0;
}

/**
 * Opens a pidfd for `pid` (pidfd_open(2)); the descriptor is close-on-exec. Close it with `closeFd`.
 * Throws SysError (`syscall: "pidfd_open"`): ESRCH when no such process exists.
 */
export function pidfdOpen(pid: number, flags = 0): number {
  const c = libc();
  const fd = c.syscall(SYS_PIDFD_OPEN, "int", pid, "unsigned int", flags);
  if (fd < 0) throw new SysError(c.errno(), "pidfd_open");
  return fd;
}

function signalNumber(signal: number | NodeJS.Signals): number {
  if (typeof signal === "number") return signal;
  const n = constants.signals[signal];
  if (n === undefined) throw new InvalidArgumentError(`unknown signal ${signal}`);
  return n;
}

/**
 * Sends `signal` (a number or a name such as "SIGTERM") to the process behind `pidfd`
 * (pidfd_send_signal(2)); unlike kill(2) it cannot hit a recycled pid.
 * Throws SysError (`syscall: "pidfd_send_signal"`): ESRCH when the process has exited.
 */
export function pidfdSendSignal(pidfd: number, signal: number | NodeJS.Signals): void {
  const c = libc();
  const sig = signalNumber(signal);
  if (c.syscall(SYS_PIDFD_SEND_SIGNAL, "int", pidfd, "int", sig, "void *", null, "unsigned int", 0) !== 0) {
    throw new SysError(c.errno(), "pidfd_send_signal");
  }
}

/**
 * Resolves when the process behind `pidfd` has terminated (the pidfd turns readable), watching it on
 * Node's event loop. It does not reap: follow with {@link waitpidNoHang} for a child. Rejects with the
 * signal's reason when `signal` aborts; the pidfd stays open either way (the caller closes it).
 */
export function pidfdWait(pidfd: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolvePromise, reject) => {
    const onAbort = () => {
      watcher.close();
      reject(signal?.reason);
    };
    const watcher = pollReadable(pidfd, (status) => {
      watcher.close();
      signal?.removeEventListener("abort", onAbort);
      if (status < 0) reject(new SysError(-status, "poll"));
      else resolvePromise();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A reaped child: `exitStatus` is the exit code, or 128 + the signal number when `signaled`. */
export interface WaitResult {
  readonly pid: number;
  readonly exitStatus: number;
  readonly signaled: boolean;
}

/** Options of {@link waitpidNoHang}. */
export interface WaitOptions {
  /**
   * With pid -1: children to leave alone (typically the ones `child_process` spawned). When the next
   * waitable child is skipped, the call returns undefined without reaping anything.
   */
  readonly skip?: (pid: number) => boolean;
}

/**
 * Reaps one terminated child without blocking: `waitpid(pid, WNOHANG)`. `pid` -1 means any child (see
 * `options.skip`). Returns undefined while the child (or every child) is still running.
 * Read the module notes on coexisting with libuv before using it in a process that spawns with
 * `child_process`. Throws SysError (`syscall: "waitpid"`): ECHILD when there is no such child.
 */
export function waitpidNoHang(pid: number, options: WaitOptions = {}): WaitResult | undefined {
  const c = libc();
  let target = pid;
  if (pid === -1 && options.skip !== undefined) {
    const next = peekTerminatedChild();
    if (next === 0 || options.skip(next)) return undefined;
    target = next;
  }
  const status = new Int32Array(1);
  for (;;) {
    const r = c.waitpid(target, status, WNOHANG);
    if (r === 0) return undefined;
    if (r > 0) return decodeStatus(r, status[0] as number);
    const errno = c.errno();
    if (errno !== EINTR) throw new SysError(errno, "waitpid");
  }
}

/** The pid of a terminated child left waitable (not reaped), or 0 when none. */
function peekTerminatedChild(): number {
  const c = libc();
  const info = Buffer.alloc(SIGINFO_SIZE);
  for (;;) {
    if (c.waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) === 0) return info.readInt32LE(SIGINFO_PID);
    const errno = c.errno();
    if (errno !== EINTR) throw new SysError(errno, "waitid");
  }
}

function decodeStatus(pid: number, status: number): WaitResult {
  const termsig = status & 0x7f;
  if (termsig === 0) return { pid, exitStatus: (status >> 8) & 0xff, signaled: false };
  return { pid, exitStatus: 128 + termsig, signaled: true };
}

/** The process group of `pid` (0 = this process). Throws SysError (`syscall: "getpgid"`): ESRCH. */
export function getpgid(pid = 0): number {
  const c = libc();
  const r = c.getpgid(pid);
  if (r < 0) throw new SysError(c.errno(), "getpgid");
  return r;
}

/**
 * Makes this process the leader of a new session and process group (setsid(2)) and returns the new
 * session id. Throws SysError EPERM when the process already leads a process group.
 */
export function setsid(): number {
  const c = libc();
  const r = c.setsid();
  if (r < 0) throw new SysError(c.errno(), "setsid");
  return r;
}
