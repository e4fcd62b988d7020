/**
 * The shim's reaper. The shim is a child subreaper, so container processes (re-parented to it when
 * `runc create`/`runc exec` exit) and their orphans become its children; it must collect their exit
 * statuses without stealing those of the processes Node itself spawned (runc invocations, logging
 * binaries), whose `exit` events libuv delivers only if it reaps them itself.
 *
 * On every SIGCHLD, and after every Node child's exit, it drains `waitpid(-1, WNOHANG)` with `skip` for
 * the pids Node owns: a terminated Node child is left to libuv (and the drain runs again once libuv has
 * reaped it), every other child is reaped here and reported to the subscribers with its exit status
 * (128 + the signal number for a signalled process). The commands of {@link Reaper.run} (runc) are
 * started with posix_spawn instead of `child_process`; their exits are handed to their callers, never
 * to the subscribers.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { accessSync, closeSync, constants as fsConstants, statSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { type SpawnStdio, StdioPipes, isSysError, pidfdOpen, pidfdWait, posixSpawn, waitpidNoHang } from "@containerts/sys";
import type { Logger } from "./log.js";

/** A reaped process. */
export interface Exit {
  readonly pid: number;
  /** Exit code, or 128 + signal number. */
  readonly status: number;
  /** When it was reaped. */
  readonly at: Date;
}

/** The outcome of {@link Reaper.run}. */
export interface RunResult {
  /** Exit code, or 128 + signal number when the process was killed by a signal. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link Reaper.run}. */
export interface RunOptions {
  /** Written to the child's stdin (stdin is /dev/null otherwise). */
  readonly input?: string;
  /**
   * The child's stdin, stdout and stderr, when they are not to be captured: file descriptors or
   * `"ignore"`. Output that goes elsewhere is not in the result, and the call resolves at the child's
   * exit rather than when its output closes (a container may inherit these descriptors).
   */
  readonly stdio?: readonly [number | "ignore", number | "ignore", number | "ignore"];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}


/** Reaps children; see the module notes. */
export class Reaper {
  readonly #owned = new Set<number>();
  /** Commands of run() still running: pid → where their exit status goes. */
  readonly #waiting = new Map<number, (status: number) => void>();
  readonly #listeners = new Set<(exit: Exit) => void>();
  readonly #log: Logger;
  readonly #onSignal = (): void => this.drain();
  #started = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Starts reaping on SIGCHLD (and drains once now). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    process.on("SIGCHLD", this.#onSignal);
    this.drain();
  }

  /** Stops listening for SIGCHLD. */
  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    process.off("SIGCHLD", this.#onSignal);
  }

  /** Adds an exit listener; returns its removal. Listeners run synchronously, in the reaping turn. */
  subscribe(listener: (exit: Exit) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reaps every terminated child that Node does not own. */
  drain(): void {
    for (;;) {
      let r;
      try {
        r = waitpidNoHang(-1, { skip: (pid) => this.#owned.has(pid) });
      } catch (err) {
        if (!(isSysError(err) && err.code === "ECHILD")) this.#log.warn("reap", { error: err });
        return;
      }
      if (r === undefined) return;
      const waiter = this.#waiting.get(r.pid);
      if (waiter !== undefined) {
        // A command of run(): its caller gets the status, the exit listeners never see it.
        this.#waiting.delete(r.pid);
        waiter(r.exitStatus);
        continue;
      }
      const exit: Exit = { pid: r.pid, status: r.exitStatus, at: new Date() };
      for (const l of this.#listeners) {
        try {
          l(exit);
        } catch (err) {
          this.#log.error("exit listener", { error: err, pid: r.pid });
        }
      }
    }
  }

  /**
   * Spawns a process that Node owns (libuv reaps it and emits `exit`); the reaper leaves it alone.
   * Throws what `child_process.spawn` throws; a failure to execute arrives as the child's `error` event.
   */
  spawn(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
    const child = spawn(command, args, options);
    const pid = child.pid;
    if (pid !== undefined) {
      this.#owned.add(pid);
      child.once("exit", () => {
        this.#owned.delete(pid);
        // Anything skipped while libuv had not yet reaped this child can be reaped now.
        queueMicrotask(() => this.drain());
      });
    }
    return child;
  }

  /**
   * Runs a command to completion. Rejects when it cannot be started (ENOENT …); resolves with its exit
   * code (128 + signal when killed) otherwise.
   *
   * The command starts with posix_spawn (`@containerts/sys`), not `child_process`: a fork of this
   * process would block the event loop for about 2 ms per runc call (create, start, delete …). Its exit
   * comes either from {@link drain} (which reaps it like any other child and hands the status over) or,
   * when nothing drains, from a pidfd watched for it.
   */
  async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const env = options.env ?? process.env;
    const file = lookPath(command, env["PATH"]);
    // Output captured through pipes, unless the caller gives the stdio (then the call resolves at the exit).
    const given = options.stdio;
    const orNull = (fd: number | "ignore"): SpawnStdio => (fd === "ignore" ? "null" : fd);
    const pipes = given === undefined ? StdioPipes.open(options.input === undefined ? undefined : Buffer.from(options.input)) : undefined;
    const stdio = given === undefined ? pipes?.stdio : ([orNull(given[0]), orNull(given[1]), orNull(given[2])] as const);
    let pid: number;
    try {
      // Synchronous on purpose: the pid is registered below before any SIGCHLD handler can run.
      pid = posixSpawn({ file, args: [command, ...args], env, stdio: stdio ?? ["null", "null", "null"], ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
    } catch (err) {
      pipes?.close();
      throw err;
    }
    const exited = new Promise<number>((resolvePromise) => this.#waiting.set(pid, resolvePromise));
    this.#watch(pid);
    const output = pipes?.started();
    const code = await exited;
    const out = await output;
    return { code, stdout: out?.stdout.toString("utf8") ?? "", stderr: out?.stderr.toString("utf8") ?? "" };
  }

  /** Watches a spawned pid with a pidfd, for when no SIGCHLD drain reaps it first. */
  #watch(pid: number): void {
    let pidfd: number;
    try {
      pidfd = pidfdOpen(pid);
    } catch {
      // Reaped already (only drain can have done it, and it delivered the exit).
      return;
    }
    void pidfdWait(pidfd)
      .then(() => {
        const waiter = this.#waiting.get(pid);
        if (waiter === undefined) return; // drain delivered it
        let status: number;
        try {
          const r = waitpidNoHang(pid);
          if (r === undefined) return; // cannot happen: the pidfd is readable once the process ended
          status = r.exitStatus;
        } catch (err) {
          // Reaped by a waitpid(-1) other than this reaper's (another Reaper in this process): the status
          // is lost, but the caller must not wait forever.
          if (!(isSysError(err) && err.code === "ECHILD")) throw err;
          this.#log.warn("exit status of a spawned process was taken by another reaper", { pid });
          status = 255;
        }
        this.#waiting.delete(pid);
        waiter(status);
      })
      .catch((err: unknown) => this.#log.warn("watch spawned process", { pid, error: err }))
      .finally(() => closeSync(pidfd));
  }
}

const paths = new Map<string, string>();

/** The absolute path of `command` (a path when it has a slash, else looked up on `PATH`), cached. */
function lookPath(command: string, pathEnv: string | undefined): string {
  if (command.includes("/")) return resolvePath(command);
  const key = `${pathEnv ?? ""}\0${command}`;
  const cached = paths.get(key);
  if (cached !== undefined) return cached;
  for (const dir of (pathEnv ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    if (dir === "") continue;
    const candidate = resolvePath(dir, command);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (!statSync(candidate).isFile()) continue;
    } catch {
      continue;
    }
    paths.set(key, candidate);
    return candidate;
  }
  throw Object.assign(new Error(`exec: ${JSON.stringify(command)}: executable file not found in $PATH`), { code: "ENOENT" });
}
