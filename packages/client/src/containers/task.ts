/**
 * Tasks and processes on the client side (containerd's `task.go` and `process.go`): a {@link Task} is the
 * running state of a container (its init process), a {@link Process} an exec'd process inside it. Both
 * own their {@link ProcessIO}: deleting them stops the copying and removes the FIFOs.
 */
import { FailedPreconditionError, InvalidArgumentError, UnknownError, isFailedPrecondition, isNotFound, withContext } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import type { Exit, ProcessState, TaskService, TaskStatus } from "@containerts/tasks";
import type { IOAttach, IOCreator, ProcessIO } from "./cio.js";
import { type SpecProcess, processToAny } from "./oci.js";
import { type CgroupMetrics, type ProcessDetails, decodeMetrics, decodeProcessDetails } from "./proxy/convert.js";
import { parseSignal } from "./signals.js";

/** A process id and what the runtime says about it (`Tasks.ListPids`). */
export interface TaskProcessInfo {
  readonly pid: number;
  /** The runc shims' details: the exec id for exec processes; undefined for others. */
  readonly details?: ProcessDetails;
  /** The type URL of the runtime's info, when there was one. */
  readonly infoType?: string;
}

/** One sample of a task's statistics (`Tasks.Metrics`). */
export interface TaskMetrics {
  /** The container id. */
  readonly id: string;
  /** When the daemon collected them. */
  readonly timestamp: Date;
  /** The cgroup statistics, decoded. */
  readonly data: CgroupMetrics;
}

/** Options of {@link Task.kill} and {@link Process.kill}. */
export interface KillOptions {
  /** Signal every process of the container (containerd's `WithKillAll`). */
  readonly all?: boolean;
  /** Signal this exec process of the task instead (containerd's `WithKillExecID`). */
  readonly execId?: string;
}

/** Options of {@link Task.delete} and {@link Process.delete}. */
export interface DeleteProcessOptions {
  /** Kill the process (SIGKILL to all) and wait for it first (containerd's `WithProcessKill`). */
  readonly force?: boolean;
}

/** What a task or process needs from the client. */
export interface TaskClient {
  readonly tasks: TaskService;
}

type Signal = number | string;

function signalNumber(sig: Signal): number {
  return typeof sig === "number" ? sig : parseSignal(sig);
}

/** The operations a task and an exec process share. */
abstract class ProcessBase {
  protected readonly client: TaskClient;
  /** The container id. */
  readonly containerId: string;
  protected pidValue: number;
  protected ioValue: ProcessIO | undefined;

  constructor(client: TaskClient, containerId: string, pid: number, io: ProcessIO | undefined) {
    this.client = client;
    this.containerId = containerId;
    this.pidValue = pid;
    this.ioValue = io;
  }

  /** The exec id, or undefined for the init process. */
  protected abstract get execId(): string | undefined;

  /** The process id on the host (0 for an exec process before it starts). */
  get pid(): number {
    return this.pidValue;
  }

  /** The I/O, when the process was created or attached with one. */
  get io(): ProcessIO | undefined {
    return this.ioValue;
  }

  /**
   * Closes the process's stdin once the caller's stdin stream has ended (as ctr's `stdinCloser` does), so
   * `cat` sees EOF. Errors are ignored: the process may have exited meanwhile.
   */
  protected closeStdinOnEnd(ctx: Context): void {
    this.ioValue?.stdinClosed?.then(
      () => this.closeIO(ctx, { stdin: true }).catch(() => {}),
      () => {},
    );
  }

  /**
   * Resolves when the process exits, with its exit status (128 + signal for a signalled process) and
   * time. The `Tasks.Wait` call is made at once: call `wait` before `start` to be sure to see the exit,
   * then await the promise after starting. Abort it through `ctx.signal`.
   */
  wait(ctx: Context): Promise<Exit> {
    return this.client.tasks.wait(ctx, this.ref());
  }

  /**
   * Sends a signal (a number, or a name like `SIGTERM`, `TERM`, `9`).
   * @throws NotFoundError `process already finished` after the exit; InvalidArgumentError for an unknown name.
   */
  async kill(ctx: Context, signal: Signal, options: KillOptions = {}): Promise<void> {
    const ref = options.execId !== undefined && options.execId !== "" ? { containerId: this.containerId, execId: options.execId } : this.ref();
    await this.client.tasks.kill(ctx, { ...ref, signal: signalNumber(signal), all: options.all ?? false });
  }

  /** Resizes the process's pty (`width` columns, `height` rows). */
  async resize(ctx: Context, width: number, height: number): Promise<void> {
    await this.client.tasks.resizePty(ctx, { ...this.ref(), width, height });
  }

  /** Closes the process's stdin (`stdin: true`; without it nothing happens, as in containerd). */
  async closeIO(ctx: Context, options: { readonly stdin: boolean }): Promise<void> {
    await this.client.tasks.closeIO(ctx, { ...this.ref(), stdin: options.stdin });
  }

  /** The process's state (`Tasks.Get`). */
  async status(ctx: Context): Promise<ProcessState> {
    return this.client.tasks.get(ctx, this.ref());
  }

  protected ref(): { containerId: string; execId?: string } {
    const execId = this.execId;
    return execId === undefined ? { containerId: this.containerId } : { containerId: this.containerId, execId };
  }

  /** containerd's `WithProcessKill`: SIGKILL to all, then wait for the exit. */
  protected async forceKill(ctx: Context): Promise<void> {
    const ac = new AbortController();
    const onAbort = () => ac.abort(ctx.signal.reason);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const waitCtx: Context = { ...ctx, signal: ac.signal };
    const exited = this.wait(waitCtx);
    exited.catch(() => {});
    try {
      try {
        await this.kill(ctx, 9, { all: true });
      } catch (err) {
        if (isFailedPrecondition(err)) return;
        if (!isNotFound(err)) throw err;
      }
      await exited;
    } finally {
      ac.abort();
      ctx.signal.removeEventListener("abort", onAbort);
    }
  }
}

/**
 * An exec process of a task (containerd's `Process`).
 */
export class Process extends ProcessBase {
  /** The exec id. */
  readonly id: string;

  /** @internal Use {@link Task.exec} or {@link Task.loadProcess}; with `ctx`, stdin is closed when the caller's ends. */
  constructor(client: TaskClient, containerId: string, id: string, pid: number, io: ProcessIO | undefined, ctx?: Context) {
    super(client, containerId, pid, io);
    this.id = id;
    if (ctx !== undefined) this.closeStdinOnEnd(ctx);
  }

  protected get execId(): string {
    return this.id;
  }

  /**
   * Starts the process and returns its pid. On failure the I/O is released.
   */
  async start(ctx: Context): Promise<number> {
    try {
      this.pidValue = await this.client.tasks.start(ctx, this.ref());
    } catch (err) {
      if (this.ioValue !== undefined) {
        this.ioValue.cancel();
        await this.ioValue.close();
      }
      throw err;
    }
    return this.pidValue;
  }

  /**
   * Deletes the exited process (`Tasks.DeleteProcess`) and releases its I/O (after the output is copied).
   * @throws FailedPreconditionError `current process state: running, process must be stopped before
   *   deletion` unless `force`; NotFoundError when it does not exist.
   */
  async delete(ctx: Context, options: DeleteProcessOptions = {}): Promise<Exit> {
    if (options.force) await this.forceKill(ctx);
    const st = await this.status(ctx);
    if (st.status === "running" || st.status === "paused" || st.status === "pausing") {
      throw new FailedPreconditionError(`current process state: ${st.status}, process must be stopped before deletion`);
    }
    const r = await this.client.tasks.deleteProcess(ctx, { containerId: this.containerId, execId: this.id });
    if (this.ioValue !== undefined) {
      this.ioValue.cancel();
      await this.ioValue.wait();
      await this.ioValue.close();
    }
    return r;
  }
}

/** Options of {@link Task.exec}. */
export interface ExecOptions {
  /** How the process's stdio is connected (default: none). */
  readonly io?: IOCreator;
}

/**
 * The task of a container: its init process, and the entry point to exec processes (containerd's `Task`).
 */
export class Task extends ProcessBase {
  /** @internal Use `ContainerHandle.newTask` or `ContainerHandle.task`. */
  constructor(client: TaskClient, containerId: string, pid: number, io: ProcessIO | undefined, ctx?: Context) {
    super(client, containerId, pid, io);
    if (ctx !== undefined) this.closeStdinOnEnd(ctx);
  }

  /** The task id (the container id). */
  get id(): string {
    return this.containerId;
  }

  protected get execId(): undefined {
    return undefined;
  }

  /** Starts the init process and returns its pid. On failure the I/O is released. */
  async start(ctx: Context): Promise<number> {
    try {
      this.pidValue = await this.client.tasks.start(ctx, this.ref());
    } catch (err) {
      if (this.ioValue !== undefined) {
        this.ioValue.cancel();
        await this.ioValue.close();
      }
      throw err;
    }
    return this.pidValue;
  }

  /** Freezes every process of the task. */
  async pause(ctx: Context): Promise<void> {
    await this.client.tasks.pause(ctx, this.containerId);
  }

  /** Thaws them. */
  async resume(ctx: Context): Promise<void> {
    await this.client.tasks.resume(ctx, this.containerId);
  }

  /** The processes of the task, with the exec id of exec processes when the runtime reports it. */
  async pids(ctx: Context): Promise<TaskProcessInfo[]> {
    const list = await this.client.tasks.listPids(ctx, this.containerId);
    return list.map((p) => {
      if (p.info === undefined) return { pid: p.pid };
      const details = decodeProcessDetails(p.info);
      return details === undefined ? { pid: p.pid, infoType: p.info.typeUrl } : { pid: p.pid, infoType: p.info.typeUrl, details };
    });
  }

  /**
   * One sample of the task's cgroup statistics.
   * @throws NotFoundError when the task is gone; UnknownError `no metrics received` when the daemon sent
   *   none; InvalidArgumentError for a payload that is neither cgroups v1 nor v2 metrics.
   */
  async metrics(ctx: Context): Promise<TaskMetrics> {
    const list = await this.client.tasks.metrics(ctx, [`id==${this.containerId}`]);
    const m = list[0];
    if (m === undefined) {
      await this.status(ctx);
      throw new UnknownError("no metrics received", { bare: true });
    }
    if (m.data === undefined) throw new InvalidArgumentError("cannot convert metric data to cgroups.Metrics or windows.Statistics", { bare: true });
    return { id: m.id, timestamp: m.timestamp, data: decodeMetrics(m.data) };
  }

  /**
   * Adds an exec process (created, not started) running `spec` (containerd's `Task.Exec`).
   * @throws InvalidArgumentError `exec id must not be empty`; the daemon's errors (the I/O is released).
   */
  async exec(ctx: Context, execId: string, spec: SpecProcess, options: ExecOptions = {}): Promise<Process> {
    if (execId === "") throw new InvalidArgumentError("exec id must not be empty");
    const io = options.io === undefined ? undefined : await options.io(execId);
    try {
      await this.client.tasks.exec(ctx, {
        containerId: this.containerId,
        execId,
        io: io?.config ?? { stdin: "", stdout: "", stderr: "", terminal: false },
        spec: processToAny(spec),
      });
    } catch (err) {
      if (io !== undefined) {
        io.cancel();
        await io.close();
      }
      throw err;
    }
    return new Process(this.client, this.containerId, execId, 0, io, ctx);
  }

  /**
   * An existing exec process, optionally reattaching to its FIFOs.
   * @throws NotFoundError `no running process found: …` when it does not exist.
   */
  async loadProcess(ctx: Context, execId: string, attach?: IOAttach): Promise<Process> {
    let st: ProcessState;
    try {
      st = await this.client.tasks.get(ctx, { containerId: this.containerId, execId });
    } catch (err) {
      if (isNotFound(err)) throw withContext(err, "no running process found");
      throw err;
    }
    const io = attach === undefined ? undefined : await attach({ stdin: st.stdin, stdout: st.stdout, stderr: st.stderr, terminal: st.terminal });
    return new Process(this.client, this.containerId, execId, st.pid, io);
  }

  /**
   * Deletes the task (containerd's `Task.Delete`): its status must be stopped (or unknown, or created
   * with pid 0) unless `force` kills it first; the output still in flight is copied, then `Tasks.Delete`
   * runs, then the I/O is released. Returns the exit status.
   * @throws FailedPreconditionError `task must be stopped before deletion: <status>`; NotFoundError when
   *   the task is gone.
   */
  async delete(ctx: Context, options: DeleteProcessOptions = {}): Promise<Exit> {
    if (options.force) await this.forceKill(ctx);
    let status: TaskStatus = "unknown";
    try {
      status = (await this.status(ctx)).status;
    } catch (err) {
      if (isNotFound(err)) throw err;
    }
    const deletable = status === "stopped" || status === "unknown" || (status === "created" && this.pidValue === 0);
    if (!deletable) throw new FailedPreconditionError(`task must be stopped before deletion: ${status}`);
    if (this.ioValue !== undefined) {
      this.ioValue.cancel();
      await this.ioValue.wait();
    }
    const r = await this.client.tasks.delete(ctx, this.containerId);
    await this.ioValue?.close();
    return r;
  }
}
