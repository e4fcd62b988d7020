/**
 * The tasks service (containerd's `services/tasks/local.go`) over a container store and a runtime, in
 * native types: container lookup, runtime choice, the calls in containerd's order, and containerd's error
 * wording. The gRPC adapter (`../grpc`) is mechanical on top of it.
 */
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  NotImplementedError,
  UnknownError,
  isInvalidArgument,
  isNotFound,
  normalize,
  withContext,
} from "@containerts/errdefs";
import { type ContainerStore, readSpec, type Container } from "@containerts/containers";
import { type Context, adaptFields, namespaceRequired, parseFilters, withSignal } from "@containerts/namespaces";
import type { PlatformRuntime, RuntimeProcess, RuntimeTask } from "../runtime-types.js";
import {
  type CreateTaskRequest,
  type CreatedTask,
  type DeletedProcess,
  type Exit,
  type KillRequest,
  type Metric,
  type ProcessInfo,
  type ProcessRef,
  type ProcessState,
  type TaskIO,
  type TaskService,
  type ExecRequest,
  type ResizePtyRequest,
  type CloseIORequest,
  type UpdateTaskRequest,
  ZERO_TIME,
} from "../task.js";

/** The logger the service writes to (structurally the plugin registry's `Logger`). */
export interface ServiceLogger {
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** Options of {@link createTaskService}. */
export interface TaskServiceOptions {
  /** Where containers are looked up. */
  readonly containers: ContainerStore;
  /** The runtime v2 manager (or any {@link PlatformRuntime}). */
  readonly runtime: PlatformRuntime;
  /** Logs State and Stats failures. */
  readonly log?: ServiceLogger;
  /** Timeout of the State call of Get and List (containerd's `io.containerd.timeout.task.state`). Default 2 s. */
  readonly stateTimeoutMs?: number;
}

function io(p: Partial<TaskIO> | undefined): TaskIO {
  return { stdin: p?.stdin ?? "", stdout: p?.stdout ?? "", stderr: p?.stderr ?? "", terminal: p?.terminal ?? false };
}

/** The prefix of legacy runtime v1 names (`io.containerd.runtime.v1.linux`), which containerts does not run. */
const RUNTIME_V1_PREFIX = "io.containerd.runtime.v1.";

/**
 * Creates the tasks service. See {@link TaskService} for the contract; in short, as containerd 1.6:
 * an unknown container is NotFound `container "<id>" in namespace "<ns>": not found`, a container without
 * task NotFound `task <id> not found`, and shim errors keep their kind.
 */
export function createTaskService(options: TaskServiceOptions): TaskService {
  const { containers, runtime } = options;
  const log = options.log;
  const stateTimeoutMs = options.stateTimeoutMs ?? 2000;

  async function getTaskOf(ctx: Context, container: Container): Promise<RuntimeTask> {
    try {
      return runtime.get(ctx, container.id);
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`task ${container.id} not found`, { bare: true });
      throw err;
    }
  }

  async function getTask(ctx: Context, id: string): Promise<RuntimeTask> {
    return getTaskOf(ctx, await containers.get(ctx, id));
  }

  async function processOf(ctx: Context, ref: ProcessRef): Promise<RuntimeProcess> {
    const t = await getTask(ctx, ref.containerId);
    if (ref.execId === undefined || ref.execId === "") return t;
    return t.process(ctx, ref.execId);
  }

  async function processState(ctx: Context, p: RuntimeProcess): Promise<ProcessState> {
    let state;
    try {
      state = await p.state(withSignal(ctx, AbortSignal.any([ctx.signal, AbortSignal.timeout(stateTimeoutMs)])), { timeoutMs: stateTimeoutMs });
    } catch (err) {
      if (isNotFound(err)) throw err;
      log?.error("get state", { id: p.id, error: normalize(err).message });
      return {
        id: p.id,
        pid: 0,
        status: "unknown",
        stdin: "",
        stdout: "",
        stderr: "",
        terminal: false,
        exitStatus: 0,
        exitedAt: ZERO_TIME,
        exitedAtNanos: 0,
      };
    }
    return { id: p.id, ...state };
  }

  return {
    async create(ctx: Context, req: CreateTaskRequest): Promise<CreatedTask> {
      const container = await containers.get(ctx, req.containerId);
      if (req.checkpoint !== undefined) throw new NotImplementedError("restoring a task from a checkpoint");
      if (container.spec === undefined) throw new InvalidArgumentError(`container ${JSON.stringify(container.id)} has no spec`);
      readSpec(container);
      const name = req.runtimePath !== undefined && req.runtimePath !== "" ? req.runtimePath : container.runtime.name;
      if (container.runtime.name.startsWith(RUNTIME_V1_PREFIX)) {
        throw new NotImplementedError(`runtime ${container.runtime.name} (runtime v1)`);
      }
      let existing: RuntimeTask | undefined;
      try {
        existing = runtime.get(ctx, req.containerId);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (existing !== undefined) throw new AlreadyExistsError(`task ${req.containerId}`);
      const task = await runtime.create(ctx, req.containerId, {
        spec: container.spec,
        rootfs: req.rootfs ?? [],
        io: io(req.io),
        checkpoint: "",
        runtime: name,
        ...(container.runtime.options === undefined ? {} : { runtimeOptions: container.runtime.options }),
        ...(req.options === undefined ? {} : { taskOptions: req.options }),
      });
      let pid: number;
      try {
        pid = await task.pid(ctx);
      } catch (err) {
        throw withContext(err, "failed to get task pid");
      }
      return { containerId: req.containerId, pid };
    },

    async start(ctx: Context, ref: ProcessRef): Promise<number> {
      const p = await processOf(ctx, ref);
      await p.start(ctx);
      return (await p.state(ctx)).pid;
    },

    async delete(ctx: Context, containerId: string): Promise<DeletedProcess> {
      const container = await containers.get(ctx, containerId);
      await getTaskOf(ctx, container);
      const exit = await runtime.delete(ctx, containerId);
      return { id: "", ...exit };
    },

    async deleteProcess(ctx: Context, ref: Required<ProcessRef>): Promise<DeletedProcess> {
      const t = await getTask(ctx, ref.containerId);
      const p = await t.process(ctx, ref.execId);
      const exit = await p.delete(ctx);
      return { id: ref.execId, ...exit };
    },

    async get(ctx: Context, ref: ProcessRef): Promise<ProcessState> {
      return processState(ctx, await processOf(ctx, ref));
    },

    async list(ctx: Context): Promise<ProcessState[]> {
      namespaceRequired(ctx);
      const states = await Promise.all(
        runtime.tasks(ctx, false).map(async (t) => {
          try {
            return await processState(ctx, t);
          } catch (err) {
            if (!isNotFound(err)) log?.error("converting task to protobuf", { id: t.id, error: normalize(err).message });
            return undefined;
          }
        }),
      );
      return states.filter((s): s is ProcessState => s !== undefined);
    },

    async kill(ctx: Context, req: KillRequest): Promise<void> {
      const p = await processOf(ctx, req);
      await p.kill(ctx, req.signal, req.all ?? false);
    },

    async exec(ctx: Context, req: ExecRequest): Promise<void> {
      if (req.execId === "") throw new InvalidArgumentError("exec id cannot be empty", { bare: true });
      const t = await getTask(ctx, req.containerId);
      if (req.spec === undefined) throw new InvalidArgumentError(`exec ${req.execId}: process spec must be set`, { bare: true });
      await t.exec(ctx, req.execId, { spec: req.spec, io: io(req.io) });
    },

    async resizePty(ctx: Context, req: ResizePtyRequest): Promise<void> {
      const p = await processOf(ctx, req);
      await p.resizePty(ctx, req.width, req.height);
    },

    async closeIO(ctx: Context, req: CloseIORequest): Promise<void> {
      const p = await processOf(ctx, req);
      if (req.stdin) await p.closeIO(ctx);
    },

    async pause(ctx: Context, containerId: string): Promise<void> {
      await (await getTask(ctx, containerId)).pause(ctx);
    },

    async resume(ctx: Context, containerId: string): Promise<void> {
      await (await getTask(ctx, containerId)).resume(ctx);
    },

    async listPids(ctx: Context, containerId: string): Promise<ProcessInfo[]> {
      return (await getTask(ctx, containerId)).pids(ctx);
    },

    async checkpoint(ctx: Context, containerId: string): Promise<never> {
      await getTask(ctx, containerId);
      throw new NotImplementedError("checkpoint");
    },

    async update(ctx: Context, req: UpdateTaskRequest): Promise<void> {
      await (await getTask(ctx, req.containerId)).update(ctx, req.resources, req.annotations ?? {});
    },

    async metrics(ctx: Context, filters: readonly string[] = []): Promise<Metric[]> {
      let filter;
      try {
        filter = parseFilters(filters);
      } catch (err) {
        // containerd returns the parser's error unclassed.
        if (isInvalidArgument(err)) throw new UnknownError(err.message, { cause: err, bare: true });
        throw err;
      }
      const selected = runtime.tasks(ctx, false).filter((t) => filter.match(adaptFields({ id: t.id, namespace: t.namespace })));
      const results = await Promise.all(
        selected.map(async (t): Promise<Metric | undefined> => {
          const timestamp = new Date();
          try {
            const data = await t.stats(ctx);
            return data === undefined ? { timestamp, id: t.id } : { timestamp, id: t.id, data };
          } catch (err) {
            if (!isNotFound(err)) log?.error("collecting metrics", { id: t.id, error: normalize(err).message });
            return undefined;
          }
        }),
      );
      return results.filter((m): m is Metric => m !== undefined);
    },

    async wait(ctx: Context, ref: ProcessRef): Promise<Exit> {
      const p = await processOf(ctx, ref);
      return p.wait(ctx);
    },
  };
}
