/**
 * A runtime v2 shim's task API (`containerd.task.v2.Task`) over ttrpc, as a {@link RuntimeTask}: the
 * counterpart of containerd's `shimTask` (`runtime/v2/shim.go`) and `process` (`runtime/v2/process.go`).
 */
import { NotFoundError, isNotFound, withContext } from "@containerts/errdefs";
import { type Context, validateIdentifier } from "@containerts/namespaces";
import { type TtrpcCallOptions, type TtrpcClient, isTtrpcClosed, unaryMethod } from "@containerts/ttrpc";
import { type StateResponse, TASK_SERVICE, TaskMethods } from "@containerts/api/runtime/task/v2";
import type {
  RuntimeCallOptions,
  RuntimeCreateOptions,
  RuntimeExecOptions,
  RuntimeExecProcess,
  RuntimeState,
  RuntimeTask,
} from "../runtime-types.js";
import type { AnyValue, Exit, ProcessInfo } from "../task.js";
import {
  exitFromProto,
  mountToProto,
  optionalAnyFromProto,
  optionalAnyToProto,
  processInfoFromProto,
  statusFromProto,
  timeFromProto,
} from "../grpc/convert.js";


/** The shim API's methods, typed (codecs from the shared table in @containerts/api). */
const rpc = {
  state: unaryMethod(TASK_SERVICE, "State", ...TaskMethods.State),
  create: unaryMethod(TASK_SERVICE, "Create", ...TaskMethods.Create),
  start: unaryMethod(TASK_SERVICE, "Start", ...TaskMethods.Start),
  delete: unaryMethod(TASK_SERVICE, "Delete", ...TaskMethods.Delete),
  pids: unaryMethod(TASK_SERVICE, "Pids", ...TaskMethods.Pids),
  pause: unaryMethod(TASK_SERVICE, "Pause", ...TaskMethods.Pause),
  resume: unaryMethod(TASK_SERVICE, "Resume", ...TaskMethods.Resume),
  checkpoint: unaryMethod(TASK_SERVICE, "Checkpoint", ...TaskMethods.Checkpoint),
  kill: unaryMethod(TASK_SERVICE, "Kill", ...TaskMethods.Kill),
  exec: unaryMethod(TASK_SERVICE, "Exec", ...TaskMethods.Exec),
  resizePty: unaryMethod(TASK_SERVICE, "ResizePty", ...TaskMethods.ResizePty),
  closeIO: unaryMethod(TASK_SERVICE, "CloseIO", ...TaskMethods.CloseIO),
  update: unaryMethod(TASK_SERVICE, "Update", ...TaskMethods.Update),
  wait: unaryMethod(TASK_SERVICE, "Wait", ...TaskMethods.Wait),
  stats: unaryMethod(TASK_SERVICE, "Stats", ...TaskMethods.Stats),
  connect: unaryMethod(TASK_SERVICE, "Connect", ...TaskMethods.Connect),
  shutdown: unaryMethod(TASK_SERVICE, "Shutdown", ...TaskMethods.Shutdown),
} as const;

function callOptions(ctx: Context, options: RuntimeCallOptions = {}): TtrpcCallOptions {
  return options.timeoutMs === undefined ? { signal: ctx.signal } : { signal: ctx.signal, timeoutMs: options.timeoutMs };
}

/** State of a process; a lost connection reads as NotFound (containerd: the dead shim's task is gone). */
async function processState(client: TtrpcClient, ctx: Context, id: string, execId: string, options?: RuntimeCallOptions): Promise<RuntimeState> {
  try {
    return stateFromProto(await rpc.state(client, { id, execId }, callOptions(ctx, options)));
  } catch (err) {
    if (isTtrpcClosed(err)) throw new NotFoundError("", { cause: err });
    throw err;
  }
}

function stateFromProto(r: StateResponse): RuntimeState {
  const t = timeFromProto(r.exitedAt);
  return {
    pid: r.pid,
    status: statusFromProto(r.status),
    stdin: r.stdin,
    stdout: r.stdout,
    stderr: r.stderr,
    terminal: r.terminal,
    exitStatus: r.exitStatus,
    exitedAt: t.date,
    exitedAtNanos: t.nanos,
  };
}

/** What a {@link ShimTask} knows about where it lives. */
export interface ShimTaskInfo {
  /** The task (container) id. */
  readonly id: string;
  readonly namespace: string;
  /** The bundle directory (passed to the shim's Create). */
  readonly bundlePath: string;
  /** The runtime name or shim binary. */
  readonly runtime: string;
}

/**
 * The shim API of one task over a ttrpc client. Errors keep the kind the shim sent; a lost connection is
 * an UnavailableError (`ttrpc: closed`), except for {@link state}, which reports it as NotFoundError (a
 * dead shim's task is gone, as containerd treats it).
 */
export class ShimTask implements RuntimeTask {
  readonly id: string;
  readonly namespace: string;
  readonly bundlePath: string;
  readonly runtime: string;
  /** The ttrpc connection to the shim. */
  readonly client: TtrpcClient;

  constructor(client: TtrpcClient, info: ShimTaskInfo) {
    this.client = client;
    this.id = info.id;
    this.namespace = info.namespace;
    this.bundlePath = info.bundlePath;
    this.runtime = info.runtime;
  }

  /** The shim's Create for the task's init process; returns its pid. */
  async create(ctx: Context, options: RuntimeCreateOptions): Promise<number> {
    const res = await rpc.create(
      this.client,
      {
        id: this.id,
        bundle: this.bundlePath,
        rootfs: options.rootfs.map((m) => mountToProto({ ...m, target: "" })),
        terminal: options.io.terminal,
        stdin: options.io.stdin,
        stdout: options.io.stdout,
        stderr: options.io.stderr,
        checkpoint: options.checkpoint,
        parentCheckpoint: "",
        options: optionalAnyToProto(options.taskOptions ?? options.runtimeOptions),
      },
      callOptions(ctx),
    );
    return res.pid;
  }

  /** The shim's Connect: its own pid and the task's init pid. */
  async connect(ctx: Context, options?: RuntimeCallOptions): Promise<{ shimPid: number; taskPid: number }> {
    const r = await rpc.connect(this.client, { id: this.id }, callOptions(ctx, options));
    return { shimPid: r.shimPid, taskPid: r.taskPid };
  }

  async pid(ctx: Context): Promise<number> {
    return (await this.connect(ctx)).taskPid;
  }

  async state(ctx: Context, options?: RuntimeCallOptions): Promise<RuntimeState> {
    return processState(this.client, ctx, this.id, "", options);
  }

  async start(ctx: Context): Promise<void> {
    await rpc.start(this.client, { id: this.id, execId: "" }, callOptions(ctx));
  }

  async kill(ctx: Context, signal: number, all: boolean): Promise<void> {
    await rpc.kill(this.client, { id: this.id, execId: "", signal, all }, callOptions(ctx));
  }

  async resizePty(ctx: Context, width: number, height: number): Promise<void> {
    await rpc.resizePty(this.client, { id: this.id, execId: "", width, height }, callOptions(ctx));
  }

  async closeIO(ctx: Context): Promise<void> {
    await rpc.closeIO(this.client, { id: this.id, execId: "", stdin: true }, callOptions(ctx));
  }

  /** Connect (for the init pid), then Wait without a timeout. */
  async wait(ctx: Context): Promise<Exit> {
    const pid = await this.pid(ctx);
    const r = await rpc.wait(this.client, { id: this.id, execId: "" }, callOptions(ctx));
    return exitFromProto(pid, r.exitStatus, r.exitedAt);
  }

  async pause(ctx: Context): Promise<void> {
    await rpc.pause(this.client, { id: this.id }, callOptions(ctx));
  }

  async resume(ctx: Context): Promise<void> {
    await rpc.resume(this.client, { id: this.id }, callOptions(ctx));
  }

  async exec(ctx: Context, execId: string, options: RuntimeExecOptions): Promise<RuntimeExecProcess> {
    try {
      validateIdentifier(execId);
    } catch (err) {
      throw withContext(err, `invalid exec id ${execId}`);
    }
    await rpc.exec(
      this.client,
      {
        id: this.id,
        execId,
        terminal: options.io.terminal,
        stdin: options.io.stdin,
        stdout: options.io.stdout,
        stderr: options.io.stderr,
        spec: optionalAnyToProto(options.spec),
      },
      callOptions(ctx),
    );
    return new ShimExecProcess(this, execId);
  }

  async process(ctx: Context, execId: string): Promise<RuntimeExecProcess> {
    const p = new ShimExecProcess(this, execId);
    await p.state(ctx);
    return p;
  }

  async pids(ctx: Context): Promise<ProcessInfo[]> {
    const r = await rpc.pids(this.client, { id: this.id }, callOptions(ctx));
    return r.processes.map(processInfoFromProto);
  }

  async stats(ctx: Context): Promise<AnyValue | undefined> {
    const r = await rpc.stats(this.client, { id: this.id }, callOptions(ctx));
    return optionalAnyFromProto(r.stats);
  }

  async update(ctx: Context, resources: AnyValue | undefined, annotations: Readonly<Record<string, string>>): Promise<void> {
    await rpc.update(this.client, { id: this.id, resources: optionalAnyToProto(resources), annotations: { ...annotations } }, callOptions(ctx));
  }

  async checkpoint(ctx: Context, path: string, options: AnyValue | undefined): Promise<void> {
    await rpc.checkpoint(this.client, { id: this.id, path, options: optionalAnyToProto(options) }, callOptions(ctx));
  }

  /** The shim's Delete of the init process. */
  async deleteInit(ctx: Context): Promise<Exit> {
    const r = await rpc.delete(this.client, { id: this.id, execId: "" }, callOptions(ctx));
    return exitFromProto(r.pid, r.exitStatus, r.exitedAt);
  }

  /** The shim's Shutdown; a connection that closes meanwhile counts as done. */
  async shutdown(ctx: Context, options?: RuntimeCallOptions): Promise<void> {
    try {
      await rpc.shutdown(this.client, { id: this.id, now: false }, callOptions(ctx, options));
    } catch (err) {
      if (!isTtrpcClosed(err)) throw err;
    }
  }
}

/** An exec process of a {@link ShimTask} (containerd's `runtime/v2/process.go`). */
class ShimExecProcess implements RuntimeExecProcess {
  readonly id: string;
  readonly #task: ShimTask;

  constructor(task: ShimTask, execId: string) {
    this.#task = task;
    this.id = execId;
  }

  state(ctx: Context, options?: RuntimeCallOptions): Promise<RuntimeState> {
    return processState(this.#task.client, ctx, this.#task.id, this.id, options);
  }

  async kill(ctx: Context, signal: number, all: boolean): Promise<void> {
    await rpc.kill(this.#task.client, { id: this.#task.id, execId: this.id, signal, all }, callOptions(ctx));
  }

  async resizePty(ctx: Context, width: number, height: number): Promise<void> {
    await rpc.resizePty(this.#task.client, { id: this.#task.id, execId: this.id, width, height }, callOptions(ctx));
  }

  async closeIO(ctx: Context): Promise<void> {
    await rpc.closeIO(this.#task.client, { id: this.#task.id, execId: this.id, stdin: true }, callOptions(ctx));
  }

  async start(ctx: Context): Promise<void> {
    await rpc.start(this.#task.client, { id: this.#task.id, execId: this.id }, callOptions(ctx));
  }

  async wait(ctx: Context): Promise<Exit> {
    const r = await rpc.wait(this.#task.client, { id: this.#task.id, execId: this.id }, callOptions(ctx));
    return exitFromProto(0, r.exitStatus, r.exitedAt);
  }

  async delete(ctx: Context): Promise<Exit> {
    const r = await rpc.delete(this.#task.client, { id: this.#task.id, execId: this.id }, callOptions(ctx));
    return exitFromProto(r.pid, r.exitStatus, r.exitedAt);
  }
}

/** True when `err` says the shim does not know the process (NotFound, or a dead shim seen by State). */
export function isProcessGone(err: unknown): boolean {
  return isNotFound(err) || isTtrpcClosed(err);
}
