/**
 * Starting a program with posix_spawn(3) instead of Node's `child_process`.
 *
 * libuv forks: the parent's page tables are copied, which for a daemon holding ~100 MiB costs about 3 ms
 * of the event loop per spawn on the test VM (more on a busy machine). glibc's posix_spawn uses
 * `clone(CLONE_VM | CLONE_VFORK)`, so the cost no longer grows with the parent (about 0.5 ms, most of it
 * the child's exec). The price is doing by hand what `child_process` does: pipes, the exit status, and
 * the signal state the child starts with (every signal to its default action, none blocked, as libuv
 * does; Node ignores SIGPIPE, which a child must not inherit).
 *
 * The child is not known to libuv, which never reaps it (see process.ts): {@link spawnProgram} watches it
 * with a pidfd and reaps it itself.
 */
import { closeSync } from "node:fs";
import { Socket } from "node:net";
import { constants } from "node:os";
import { InvalidArgumentError } from "@containerts/errdefs";
import { SysError, cString } from "./errors.js";
import { type Libc, libc } from "./internal/libc.js";
import { pidfdOpen, pidfdSendSignal, pidfdWait, waitpidNoHang } from "./process.js";

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CLOEXEC = 0o2000000;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
// glibc's opaque types on 64-bit Linux are 336 (attr) and 80 (file actions) bytes; sigset_t is 128.
const ATTR_SIZE = 512;
const FILE_ACTIONS_SIZE = 256;
const SIGSET_SIZE = 128;

/** Creates a pipe (pipe2 with O_CLOEXEC): `[read end, write end]`. Throws SysError. */
export function pipe(): [number, number] {
  const c = libc();
  const fds = new Int32Array(2);
  if (c.pipe2(fds, O_CLOEXEC) !== 0) throw new SysError(c.errno(), "pipe2");
  return [fds[0] as number, fds[1] as number];
}

/** How a child's standard descriptor is set up: a descriptor of ours (duplicated), or /dev/null. */
export type SpawnStdio = number | "null";

/** What {@link posixSpawn} starts. */
export interface PosixSpawnOptions {
  /** The program: an absolute path (no `PATH` search). */
  readonly file: string;
  /** argv, argv[0] included. */
  readonly args: readonly string[];
  /** The whole environment of the child. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The child's working directory (default ours). */
  readonly cwd?: string;
  /** fds 0, 1 and 2 of the child. */
  readonly stdio: readonly [SpawnStdio, SpawnStdio, SpawnStdio];
  /** Start the child in a new session (setsid), so that it leads its own process group. */
  readonly setsid?: boolean;
}

function check(c: Libc, r: number, call: string): void {
  // posix_spawn and its helpers return the error number instead of setting errno.
  if (r !== 0) throw new SysError(r > 0 ? r : c.errno(), call);
}

/** The prepared arguments of a posix_spawn call, released with `destroy`. */
interface Prepared {
  readonly argv: (string | null)[];
  readonly envp: (string | null)[];
  readonly attr: Buffer;
  readonly actions: Buffer;
  destroy(): void;
}

function prepare(c: Libc, o: PosixSpawnOptions): Prepared {
  if (!o.file.startsWith("/")) throw new InvalidArgumentError(`posix_spawn needs an absolute path, not ${JSON.stringify(o.file)}`);
  const argv = [...o.args.map((a) => cString(a, "argument")), null];
  const envp: (string | null)[] = [];
  for (const [k, v] of Object.entries(o.env)) if (v !== undefined) envp.push(cString(`${k}=${v}`, "environment variable"));
  envp.push(null);
  const attr = Buffer.alloc(ATTR_SIZE);
  const actions = Buffer.alloc(FILE_ACTIONS_SIZE);
  check(c, c.posix_spawnattr_init(attr), "posix_spawnattr_init");
  const r = c.posix_spawn_file_actions_init(actions);
  if (r !== 0) {
    c.posix_spawnattr_destroy(attr);
    check(c, r, "posix_spawn_file_actions_init");
  }
  const destroy = () => {
    c.posix_spawn_file_actions_destroy(actions);
    c.posix_spawnattr_destroy(attr);
  };
  try {
    const all = Buffer.alloc(SIGSET_SIZE);
    const none = Buffer.alloc(SIGSET_SIZE);
    check(c, c.sigfillset(all), "sigfillset");
    check(c, c.sigemptyset(none), "sigemptyset");
    check(c, c.posix_spawnattr_setsigdefault(attr, all), "posix_spawnattr_setsigdefault");
    check(c, c.posix_spawnattr_setsigmask(attr, none), "posix_spawnattr_setsigmask");
    const flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (o.setsid === true ? POSIX_SPAWN_SETSID : 0);
    check(c, c.posix_spawnattr_setflags(attr, flags), "posix_spawnattr_setflags");
    o.stdio.forEach((s, target) => {
      if (s === "null") {
        check(c, c.posix_spawn_file_actions_addopen(actions, target, "/dev/null", target === 0 ? O_RDONLY : O_WRONLY, 0), "posix_spawn_file_actions_addopen");
      } else {
        // With s === target, glibc (≥ 2.29, as POSIX asks) clears close-on-exec instead of duplicating.
        check(c, c.posix_spawn_file_actions_adddup2(actions, s, target), "posix_spawn_file_actions_adddup2");
      }
    });
    // Nothing of ours but stdio reaches the child, even a descriptor opened without close-on-exec.
    check(c, c.posix_spawn_file_actions_addclosefrom_np(actions, 3), "posix_spawn_file_actions_addclosefrom_np");
    if (o.cwd !== undefined) check(c, c.posix_spawn_file_actions_addchdir_np(actions, cString(o.cwd, "working directory")), "posix_spawn_file_actions_addchdir_np");
  } catch (err) {
    destroy();
    throw err;
  }
  return { argv, envp, attr, actions, destroy };
}

/**
 * Starts a program with posix_spawn(3) and returns its pid. Every descriptor of ours is closed in the
 * child except its stdio (closefrom 3, so even one opened without close-on-exec does not leak); signals
 * start at their default actions, unblocked. The caller reaps the child (e.g. {@link spawnProgram}).
 * Throws InvalidArgumentError for a relative path or a NUL in an argument, SysError (`posix_spawn`:
 * ENOENT, EACCES, …) when the program cannot be started.
 */
export function posixSpawn(o: PosixSpawnOptions): number {
  const c = libc();
  const p = prepare(c, o);
  try {
    const pid = [0];
    check(c, c.posix_spawn(pid, o.file, p.actions, p.attr, p.argv, p.envp), "posix_spawn");
    return pid[0] as number;
  } finally {
    p.destroy();
  }
}

/**
 * {@link posixSpawn} on a thread of libuv's pool: the caller's thread does not wait while the child
 * starts (with CLONE_VFORK the spawning thread sleeps until the child has exec'd, which on a loaded
 * machine takes milliseconds). Rejects as posixSpawn throws.
 */
export function posixSpawnAsync(o: PosixSpawnOptions): Promise<number> {
  const c = libc();
  const p = prepare(c, o);
  return new Promise<number>((resolvePromise, reject) => {
    const pid = [0];
    c.posix_spawn.async(pid, o.file, p.actions, p.attr, p.argv, p.envp, (err: unknown, r: number) => {
      p.destroy();
      if (err !== null && err !== undefined) reject(err);
      else if (r !== 0) reject(new SysError(r, "posix_spawn"));
      else resolvePromise(pid[0] as number);
    });
  });
}

/** How a program run by {@link spawnProgram} ended, with everything it wrote. */
export interface ProgramResult extends PipedOutput {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
}

/** What {@link spawnProgram} runs. */
export interface SpawnProgramOptions {
  readonly file: string;
  /** Arguments after argv[0] (argv[0] is `file`). */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Bytes to write to the child's stdin, which is then closed; undefined: stdin is /dev/null. */
  readonly stdin?: Uint8Array;
  readonly setsid?: boolean;
  /** Aborting kills the child (SIGKILL); the promise still resolves once it is reaped. */
  readonly signal?: AbortSignal;
}

function signalName(n: number): NodeJS.Signals | null {
  for (const [name, v] of Object.entries(constants.signals)) if (v === n) return name as NodeJS.Signals;
  return null;
}

/** Reads a pipe's read end to its end; resolves with what came, in arrival order into `combined`. */
function drain(fd: number, combined: Buffer[]): Promise<Buffer> {
  return new Promise((resolvePromise) => {
    const chunks: Buffer[] = [];
    const s = new Socket({ fd, readable: true, writable: false });
    s.on("data", (d: Buffer) => {
      chunks.push(d);
      combined.push(d);
    });
    s.once("error", () => s.destroy());
    s.once("close", () => resolvePromise(Buffer.concat(chunks)));
  });
}

/** What a child wrote on the pipes of {@link StdioPipes}. */
export interface PipedOutput {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** stdout and stderr interleaved as they arrived (Go's CombinedOutput). */
  readonly combined: Buffer;
}

/**
 * Pipes for a child's stdio, around a {@link posixSpawn} (or {@link posixSpawnAsync}): stdin from bytes
 * (or /dev/null), stdout and stderr captured. Pass {@link stdio} to the spawn, then call {@link started}
 * (or {@link close} when the spawn failed).
 */
export class StdioPipes {
  /** The child's fds 0, 1 and 2. */
  readonly stdio: readonly [SpawnStdio, SpawnStdio, SpawnStdio];
  readonly #input: Uint8Array | undefined;
  readonly #childEnds: number[];
  readonly #ours: number[];

  private constructor(input: Uint8Array | undefined, stdio: [SpawnStdio, SpawnStdio, SpawnStdio], childEnds: number[], ours: number[]) {
    this.#input = input;
    this.stdio = stdio;
    this.#childEnds = childEnds;
    this.#ours = ours;
  }

  /** Creates the pipes: one for stdin when `input` is given, one each for stdout and stderr. Throws SysError. */
  static open(input: Uint8Array | undefined): StdioPipes {
    const childEnds: number[] = [];
    const ours: number[] = [];
    try {
      let stdin: SpawnStdio = "null";
      if (input !== undefined) {
        const [r, w] = pipe();
        childEnds.push(r);
        ours.push(w);
        stdin = r;
      }
      const [or, ow] = pipe();
      ours.push(or);
      childEnds.push(ow);
      const [er, ew] = pipe();
      ours.push(er);
      childEnds.push(ew);
      return new StdioPipes(input, [stdin, ow, ew], childEnds, ours);
    } catch (err) {
      for (const fd of [...childEnds, ...ours]) closeSync(fd);
      throw err;
    }
  }

  /**
   * After a successful spawn: closes the child's ends, writes the input and closes stdin, and resolves
   * with the output once both pipes reached their end.
   */
  started(): Promise<PipedOutput> {
    for (const fd of this.#childEnds.splice(0)) closeSync(fd);
    const [inWrite, outRead, errRead] = this.#input === undefined ? [undefined, ...this.#ours] : this.#ours;
    this.#ours.length = 0; // they belong to the sockets below now
    if (inWrite !== undefined) {
      const s = new Socket({ fd: inWrite, readable: false, writable: true });
      s.once("error", () => s.destroy()); // EPIPE: the program did not read its input
      s.end(Buffer.from(this.#input ?? new Uint8Array(0)));
    }
    const combined: Buffer[] = [];
    const stdout = drain(outRead as number, combined);
    const stderr = drain(errRead as number, combined);
    return Promise.all([stdout, stderr]).then(([out, err]) => ({ stdout: out, stderr: err, combined: Buffer.concat(combined) }));
  }

  /** After a failed spawn: closes every descriptor. */
  close(): void {
    for (const fd of [...this.#childEnds.splice(0), ...this.#ours.splice(0)]) closeSync(fd);
  }
}

/**
 * Runs a program to its end like `child_process.spawn` with piped stdio, through {@link posixSpawn}:
 * writes `stdin` and closes it, collects stdout and stderr, and resolves once the program has exited
 * and both pipes reached their end (Node's `close`). A program that cannot be started rejects
 * (SysError `posix_spawn`, e.g. ENOENT).
 */
export async function spawnProgram(o: SpawnProgramOptions): Promise<ProgramResult> {
  const pipes = StdioPipes.open(o.stdin);
  let pid: number;
  try {
    pid = await posixSpawnAsync({
      file: o.file,
      args: [o.file, ...o.args],
      env: o.env,
      stdio: pipes.stdio,
      ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
      ...(o.setsid === undefined ? {} : { setsid: o.setsid }),
    });
  } catch (err) {
    pipes.close();
    throw err;
  }
  const output = pipes.started();
  let pidfd: number;
  try {
    pidfd = pidfdOpen(pid);
  } catch (err) {
    // Cannot happen for an unreaped child of ours; do not leave it running unwatched.
    process.kill(pid, "SIGKILL");
    throw err;
  }
  const onAbort = () => {
    try {
      pidfdSendSignal(pidfd, "SIGKILL");
    } catch {
      // already exited
    }
  };
  o.signal?.addEventListener("abort", onAbort, { once: true });
  if (o.signal?.aborted) onAbort();
  try {
    await pidfdWait(pidfd);
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
  }
  const w = waitpidNoHang(pid);
  closeSync(pidfd);
  const out = await output;
  const signaled = w?.signaled === true;
  return {
    code: w === undefined || signaled ? null : w.exitStatus,
    signal: signaled ? signalName((w?.exitStatus ?? 128) - 128) : null,
    ...out,
  };
}
