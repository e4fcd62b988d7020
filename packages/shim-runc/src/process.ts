/**
 * A container's processes: the init process (`runc create` … `runc delete`) and exec'd processes
 * (`runc exec --detach`), with the state machines of containerd's `pkg/process`:
 *
 * ```
 * init:  created ──start──▶ running ◀──resume── paused      exec: created ──start──▶ running
 *           │                  │ └────pause────▶  │                 │                   │
 *           └──────exit────────┴──────exit────────┴▶ stopped ──delete──▶ deleted          └─exit─▶ stopped ──delete──▶ deleted
 * ```
 *
 * Every transition runs under the process's mutex, and so does the handling of its exit: an exit reaped
 * while `runc start` runs is applied (and its `/tasks/exit` event queued) only after the start event.
 * Error wording and kinds follow containerd (most refusals are Unknown errors on the wire there too).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { FailedPreconditionError, NotFoundError, UnknownError, errorOfKind, kindOf } from "@containerts/errdefs";
import { unmountAllAsync } from "@containerts/sys";
import { type EventSink, Mutex } from "./events.js";
import type { Logger } from "./log.js";
import type { Exit, Reaper } from "./reaper.js";
import { type Runc, lastRuntimeError, readPidFile, writeProcessFile } from "./runc.js";
import { type Stdio, ProcessIO } from "./stdio.js";

/** A process status as containerd reports it. */
export type ProcessStatus = "created" | "running" | "stopped" | "paused" | "pausing";

/** Claims a pid for a process: returns the exit of that pid if it was reaped before it was known. */
export type PidRegistrar = (pid: number, process: ShimProcess) => Exit | undefined;

/** What processes need from their shim. */
export interface ProcessEnv {
  readonly namespace: string;
  readonly reaper: Reaper;
  readonly events: EventSink;
  readonly log: Logger;
  readonly register: PidRegistrar;
}

const SIGKILL = 9;

function refused(message: string): UnknownError {
  return new UnknownError(message, { bare: true });
}

/**
 * containerd's `checkKillError`: a process or container that is gone is NotFound
 * (`process already finished`, `no such container`); anything else is Unknown.
 */
export function killError(err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (msg.includes("os: process already finished") || msg.includes("container not running") || msg.toLowerCase().includes("no such process") || code === "ESRCH") {
    return new NotFoundError("process already finished", { cause: err });
  }
  if (msg.includes("does not exist")) return new NotFoundError("no such container", { cause: err });
  return new UnknownError(`unknown error after kill: ${msg}`, { cause: err, bare: true });
}

/** containerd's `runtimeError`: the last error runc logged, else the command's own error. */
async function runtimeError(err: unknown, logFile: string, what: string): Promise<Error> {
  const logged = await lastRuntimeError(logFile);
  const msg = logged !== "" ? logged : err instanceof Error ? err.message : String(err);
  const kind = kindOf(err);
  return errorOfKind(kind === undefined || kind === "Unknown" ? "Unknown" : kind, `${what}: ${msg}`, { cause: err, bare: true });
}

/** What init and exec processes share. */
export abstract class ShimProcess {
  /** The container id for init, the exec id for an exec. */
  readonly id: string;
  readonly stdio: Stdio;
  pid = 0;
  exitStatus = 0;
  exitedAt: Date | undefined;
  protected io: ProcessIO | undefined;
  protected readonly mu = new Mutex();
  readonly #exited: Promise<void>;
  #resolveExited!: () => void;

  protected constructor(id: string, stdio: Stdio) {
    this.id = id;
    this.stdio = stdio;
    this.#exited = new Promise((resolve) => (this.#resolveExited = resolve));
  }

  /** The container this process belongs to. */
  abstract get containerId(): string;
  /** The status containerd reports. */
  abstract status(): ProcessStatus;
  /** Applies a reaped exit (queued behind running transitions). */
  abstract handleExit(exit: Exit): Promise<void>;
  /** Sends a signal. */
  abstract kill(signal: number, all: boolean): Promise<void>;

  /** Resolves once the process has exited (at once if it has). */
  wait(): Promise<void> {
    return this.#exited;
  }

  /** Records the exit and wakes the waiters. */
  protected markExited(status: number, at: Date): void {
    this.exitStatus = status;
    this.exitedAt = at;
    this.#resolveExited();
  }

  /** CloseIO: drops the shim's stdin writer. */
  closeStdin(): void {
    this.io?.closeStdin();
  }

  /** Resizes the pty, if the process has one. */
  resize(width: number, height: number): void {
    this.io?.resize(width, height);
  }
}

/** How to create an init process. */
export interface InitConfig {
  readonly id: string;
  readonly bundle: string;
  /** `<bundle>/rootfs` when the shim mounted the rootfs (unmounted on delete), else "". */
  readonly rootfs: string;
  readonly stdio: Stdio;
  readonly runc: Runc;
  readonly noPivotRoot: boolean;
  readonly noNewKeyring: boolean;
  /** Kill every process of the container when init exits (no private pid namespace). */
  readonly killAllOnExit: boolean;
  readonly ioUid: number;
  readonly ioGid: number;
}

type InitState = "created" | "running" | "paused" | "stopped" | "deleted";

/** The container's init process. */
export class InitProcess extends ShimProcess {
  readonly bundle: string;
  readonly runc: Runc;
  readonly #config: InitConfig;
  readonly #env: ProcessEnv;
  #state: InitState = "created";
  #pausing = false;

  private constructor(config: InitConfig, env: ProcessEnv) {
    super(config.id, config.stdio);
    this.bundle = config.bundle;
    this.runc = config.runc;
    this.#config = config;
    this.#env = env;
  }

  get containerId(): string {
    return this.id;
  }

  /**
   * Sets up the I/O and runs `runc create`; resolves with the process, and with the exit of its pid if it
   * was reaped before the pid was known (the caller applies it once the create event is out).
   * Errors: Unknown `OCI runtime create failed: <runc's error>`, the I/O errors of {@link ProcessIO.create}.
   */
  static async create(config: InitConfig, env: ProcessEnv): Promise<{ process: InitProcess; early: Exit | undefined }> {
    const p = new InitProcess(config, env);
    const io = await ProcessIO.create(config.stdio, {
      id: config.id,
      namespace: env.namespace,
      workDir: config.bundle,
      reaper: env.reaper,
      log: env.log,
      uid: config.ioUid,
      gid: config.ioGid,
    });
    p.io = io;
    const pidFile = join(config.bundle, "init.pid");
    try {
      await config.runc.create(config.id, config.bundle, {
        pidFile,
        stdio: io.runcStdio,
        noPivot: config.noPivotRoot,
        noNewKeyring: config.noNewKeyring,
        ...(io.consoleSocket === undefined ? {} : { consoleSocket: io.consoleSocket }),
      });
    } catch (err) {
      await io.close(0);
      throw await runtimeError(err, config.runc.config.log, "OCI runtime create failed");
    }
    try {
      await io.afterRuntime();
      p.pid = await readPidFile(pidFile);
    } catch (err) {
      await io.close(0);
      await config.runc.delete(config.id, true).catch(() => {});
      throw err;
    }
    const early = env.register(p.pid, p);
    return { process: p, early };
  }

  status(): ProcessStatus {
    if (this.#pausing) return "pausing";
    return this.#state === "deleted" ? "stopped" : this.#state;
  }

  /** Owner of the stdio pipes of this container's processes. */
  get ioOwner(): { readonly uid: number; readonly gid: number } {
    return { uid: this.#config.ioUid, gid: this.#config.ioGid };
  }

  /** True once Delete has run. */
  get deleted(): boolean {
    return this.#state === "deleted";
  }

  /** `runc start`; queues `/tasks/start` (before any exit of the process). */
  start(): Promise<void> {
    return this.mu.run(async () => {
      if (this.#state !== "created") throw refused(`cannot start a ${this.#state === "paused" ? "paused" : this.#state} process`);
      try {
        await this.runc.start(this.id);
      } catch (err) {
        throw await runtimeError(err, this.runc.config.log, "OCI runtime start failed");
      }
      this.#state = "running";
      this.#env.events.publish({ topic: "/tasks/start", containerId: this.id, pid: this.pid });
    });
  }

  handleExit(exit: Exit): Promise<void> {
    return this.mu.run(async () => {
      if (this.#state === "deleted" || this.#state === "stopped") return;
      if (this.#config.killAllOnExit) {
        await this.runc.kill(this.id, SIGKILL, true).catch((err: unknown) => this.#env.log.warn("failed to kill init's children", { id: this.id, error: err }));
      }
      this.#state = "stopped";
      this.markExited(exit.status, exit.at);
      this.#env.events.publish({ topic: "/tasks/exit", containerId: this.id, id: this.id, pid: exit.pid, exitStatus: exit.status, exitedAt: exit.at });
    });
  }

  kill(signal: number, all: boolean): Promise<void> {
    return this.mu.run(async () => {
      if (this.#state === "deleted") throw new NotFoundError("cannot kill a deleted process");
      try {
        await this.runc.kill(this.id, signal, all);
      } catch (err) {
        throw killError(err);
      }
    });
  }

  pause(): Promise<void> {
    this.#pausing = true;
    return this.mu
      .run(async () => {
        switch (this.#state) {
          case "created":
            throw refused("cannot pause task in created state");
          case "paused":
            throw refused("cannot pause a paused container");
          case "stopped":
            throw refused("cannot pause a stopped container");
          case "deleted":
            throw refused("cannot pause a deleted process");
          case "running":
            break;
        }
        try {
          await this.runc.pause(this.id);
        } catch (err) {
          throw await runtimeError(err, this.runc.config.log, "OCI runtime pause failed");
        }
        this.#state = "paused";
      })
      .finally(() => (this.#pausing = false));
  }

  resume(): Promise<void> {
    return this.mu.run(async () => {
      switch (this.#state) {
        case "created":
          throw refused("cannot resume task in created state");
        case "running":
          throw refused("cannot resume a running process");
        case "stopped":
          throw refused("cannot resume a stopped container");
        case "deleted":
          throw refused("cannot resume a deleted process");
        case "paused":
          break;
      }
      try {
        await this.runc.resume(this.id);
      } catch (err) {
        throw await runtimeError(err, this.runc.config.log, "OCI runtime resume failed");
      }
      this.#state = "running";
    });
  }

  /** `runc update` with LinuxResources JSON. */
  update(resourcesJson: string): Promise<void> {
    return this.mu.run(async () => {
      if (this.#state === "stopped") throw refused("cannot update a stopped container");
      if (this.#state === "deleted") throw refused("cannot update a deleted process");
      await this.runc.update(this.id, resourcesJson);
    });
  }

  /** Checks that an exec may be added now (containerd refuses in the paused, stopped and deleted states). */
  checkExec(): void {
    if (this.#state === "paused" || this.#state === "stopped" || this.#state === "deleted") {
      throw refused(`cannot exec in a ${this.#state} state`);
    }
  }

  /**
   * Deletes the container: `runc delete` (a container runc no longer knows is fine), the I/O, and the
   * rootfs mounts. Refused while running or paused.
   */
  delete(): Promise<void> {
    return this.mu.run(async () => {
      switch (this.#state) {
        case "running":
          throw refused("cannot delete a running process");
        case "paused":
          throw refused("cannot delete a paused process");
        case "deleted":
          throw new NotFoundError("cannot delete a deleted process");
        default:
          break;
      }
      let error: Error | undefined;
      await this.io?.close();
      try {
        await this.runc.delete(this.id, false);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        if (!msg.includes("does not exist")) error = await runtimeError(err, this.runc.config.log, "failed to delete task");
      }
      if (this.#config.rootfs !== "") {
        try {
          await unmountAllAsync(this.#config.rootfs);
        } catch (err) {
          this.#env.log.warn("failed to cleanup rootfs mount", { id: this.id, error: err });
          error ??= new UnknownError(`failed rootfs umount: ${err instanceof Error ? err.message : String(err)}`, { cause: err, bare: true });
        }
      }
      this.#state = "deleted";
      if (error !== undefined) throw error;
    });
  }
}

type ExecState = "created" | "running" | "stopped" | "deleted";

/** An exec'd process. */
export class ExecProcess extends ShimProcess {
  readonly parent: InitProcess;
  /** The OCI process spec (JSON object) with `terminal` set from the request. */
  readonly #spec: Record<string, unknown>;
  readonly #env: ProcessEnv;
  readonly #ioOwner: { readonly uid: number; readonly gid: number };
  #state: ExecState = "created";

  constructor(id: string, parent: InitProcess, spec: Record<string, unknown>, stdio: Stdio, env: ProcessEnv, ioOwner: { uid: number; gid: number }) {
    super(id, stdio);
    this.parent = parent;
    this.#spec = { ...spec, terminal: stdio.terminal };
    this.#env = env;
    this.#ioOwner = ioOwner;
  }

  get containerId(): string {
    return this.parent.id;
  }

  status(): ProcessStatus {
    const s = this.parent.status();
    if (s === "paused" || s === "pausing") return s;
    return this.#state === "deleted" ? "stopped" : this.#state;
  }

  /**
   * `runc exec --detach`; queues `/tasks/exec-started`, then `/tasks/exit` at once if the process was
   * already reaped. Errors: Unknown `OCI runtime exec failed: …`; refused unless created.
   */
  start(): Promise<void> {
    return this.mu.run(async () => {
      if (this.#state !== "created") throw refused(`cannot start a ${this.#state} process`);
      const bundle = this.parent.bundle;
      const io = await ProcessIO.create(this.stdio, {
        id: this.id,
        namespace: this.#env.namespace,
        workDir: bundle,
        reaper: this.#env.reaper,
        log: this.#env.log,
        uid: this.#ioOwner.uid,
        gid: this.#ioOwner.gid,
      });
      this.io = io;
      const pidFile = join(bundle, `${this.id}.pid`);
      const removeSpec = await writeProcessFile(join(bundle, `.${this.id}.process.json`), this.#spec);
      try {
        await this.parent.runc.exec(this.parent.id, join(bundle, `.${this.id}.process.json`), {
          pidFile,
          stdio: io.runcStdio,
          ...(io.consoleSocket === undefined ? {} : { consoleSocket: io.consoleSocket }),
        });
      } catch (err) {
        await io.close(0);
        this.markExited(0, new Date());
        throw await runtimeError(err, this.parent.runc.config.log, "OCI runtime exec failed");
      } finally {
        await removeSpec();
      }
      let early: Exit | undefined;
      try {
        await io.afterRuntime();
        this.pid = await readPidFile(pidFile);
        early = this.#env.register(this.pid, this);
      } catch (err) {
        await io.close(0);
        throw err;
      }
      this.#state = "running";
      this.#env.events.publish({ topic: "/tasks/exec-started", containerId: this.parent.id, execId: this.id, pid: this.pid });
      if (early !== undefined) this.#applyExit(early);
    });
  }

  #applyExit(exit: Exit): void {
    if (this.#state !== "running") return;
    this.#state = "stopped";
    this.markExited(exit.status, exit.at);
    this.#env.events.publish({ topic: "/tasks/exit", containerId: this.parent.id, id: this.id, pid: exit.pid, exitStatus: exit.status, exitedAt: exit.at });
  }

  handleExit(exit: Exit): Promise<void> {
    return this.mu.run(() => this.#applyExit(exit));
  }

  kill(signal: number): Promise<void> {
    return this.mu.run(() => {
      if (this.#state === "deleted") throw new NotFoundError("cannot kill a deleted process");
      if (this.pid === 0) throw new FailedPreconditionError("process not created");
      if (this.exitedAt !== undefined) throw new NotFoundError("process already finished");
      try {
        process.kill(this.pid, signal);
      } catch (err) {
        const e = killError(err);
        throw errorOfKind(kindOf(e) ?? "Unknown", `exec kill error: ${e.message}`, { cause: err, bare: true });
      }
    });
  }

  /** Deletes the exec: refused while running; releases its I/O and pid file. */
  delete(): Promise<void> {
    return this.mu.run(async () => {
      if (this.#state === "running") throw refused("cannot delete a running process");
      if (this.#state === "deleted") throw new NotFoundError("cannot delete a deleted process");
      await this.io?.close();
      await rm(join(this.parent.bundle, `${this.id}.pid`), { force: true });
      this.#state = "deleted";
    });
  }
}
