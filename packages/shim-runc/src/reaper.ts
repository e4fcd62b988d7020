/**
 * The shim's reaper. The shim is a child subreaper, so container processes (re-parented to it when
 * `runc create`/`runc exec` exit) and their orphans become its children; it must collect their exit
 * statuses without stealing those of the processes Node itself spawned (runc invocations, logging
 * binaries), whose `exit` events libuv delivers only if it reaps them itself.
 *
 * On every SIGCHLD, and after every Node child's exit, it drains `waitpid(-1, WNOHANG)` with `skip` for
 * the pids Node owns: a terminated Node child is left to libuv (and the drain runs again once libuv has
 * reaped it), every other child is reaped here and reported to the subscribers with its exit status
 * (128 + the signal number for a signalled process).
 */
import { type ChildProcess, type SpawnOptions, type StdioOptions, spawn } from "node:child_process";
import { constants } from "node:os";
import { isSysError, waitpidNoHang } from "@containerts/sys";
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

const SIGNALS: Readonly<Record<string, number>> = constants.signals;

/** Reaps children; see the module notes. */
export class Reaper {
  readonly #owned = new Set<number>();
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
   */
  run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const capture = options.stdio === undefined;
      const stdio: StdioOptions = options.stdio !== undefined ? [...options.stdio] : [options.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"];
      let child: ChildProcess;
      try {
        child = this.spawn(command, args, {
          stdio,
          ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
          ...(options.env === undefined ? {} : { env: options.env }),
        });
      } catch (err) {
        reject(err);
        return;
      }
      let stdout = "";
      let stderr = "";
      child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      if (options.input !== undefined) {
        child.stdin?.on("error", () => {});
        child.stdin?.end(options.input);
      }
      child.once("error", reject);
      child.once(capture ? "close" : "exit", (code: number | null, signal: NodeJS.Signals | null) => {
        resolve({ code: code ?? 128 + (signal === null ? 0 : (SIGNALS[signal] ?? 0)), stdout, stderr });
      });
    });
  }
}
