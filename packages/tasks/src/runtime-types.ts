/**
 * The runtime interfaces (containerd's `runtime.PlatformRuntime`, `runtime.Task`, `runtime.Process`): what
 * the tasks service needs from a runtime. The runtime v2 shim manager (`@containerts/tasks/runtime`)
 * implements them; tests may substitute their own.
 */
import type { Context } from "@containerts/namespaces";
import type { AnyValue, Exit, Mount, ProcessInfo, TaskIO, TaskStatus } from "./task.js";

/** What a runtime reports about a process (containerd's `runtime.State`). */
export interface RuntimeState {
  readonly pid: number;
  readonly status: TaskStatus;
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
  readonly exitStatus: number;
  readonly exitedAt: Date;
  readonly exitedAtNanos: number;
}

/** Per-call options of runtime calls. */
export interface RuntimeCallOptions {
  /** Gives up after this many milliseconds (DeadlineExceededError); sent to the shim as the call's timeout. */
  readonly timeoutMs?: number;
}

/**
 * A process of a task (init or exec). Errors keep the kind the shim sent; a dead shim gives
 * UnavailableError (`ttrpc: closed`), except {@link state}, which reports it as NotFoundError.
 */
export interface RuntimeProcess {
  /** The container id (init) or the exec id. */
  readonly id: string;
  /** The process's state. */
  state(ctx: Context, options?: RuntimeCallOptions): Promise<RuntimeState>;
  /** Sends `signal` (to every process of the container with `all`, init only). */
  kill(ctx: Context, signal: number, all: boolean): Promise<void>;
  /** Resizes the process's pty. */
  resizePty(ctx: Context, width: number, height: number): Promise<void>;
  /** Closes the process's stdin. */
  closeIO(ctx: Context): Promise<void>;
  /** Starts the process. */
  start(ctx: Context): Promise<void>;
  /** Resolves when the process exits (`pid` is the init pid for a task, 0 for an exec). */
  wait(ctx: Context): Promise<Exit>;
}

/** An exec process, which is deleted through itself (a task is deleted through its runtime). */
export interface RuntimeExecProcess extends RuntimeProcess {
  /** Deletes the exited (or never started) process and returns its exit. */
  delete(ctx: Context): Promise<Exit>;
}

/** The options of an exec process. */
export interface RuntimeExecOptions {
  /** The OCI process spec Any, passed through. */
  readonly spec?: AnyValue;
  readonly io: TaskIO;
}

/** A task: its init process plus the operations on the whole container. */
export interface RuntimeTask extends RuntimeProcess {
  /** The namespace the task lives in. */
  readonly namespace: string;
  /** The runtime name or shim binary the task runs with. */
  readonly runtime: string;
  /** The init process's pid (asks the shim). */
  pid(ctx: Context): Promise<number>;
  /** Freezes the container. */
  pause(ctx: Context): Promise<void>;
  /** Thaws the container. */
  resume(ctx: Context): Promise<void>;
  /**
   * Adds an exec process.
   * @throws InvalidArgumentError `invalid exec id <id>: identifier …` for an id that is not an identifier.
   */
  exec(ctx: Context, execId: string, options: RuntimeExecOptions): Promise<RuntimeExecProcess>;
  /** An existing exec process (its state is checked first). @throws NotFoundError from the shim. */
  process(ctx: Context, execId: string): Promise<RuntimeExecProcess>;
  /** The container's processes. */
  pids(ctx: Context): Promise<ProcessInfo[]>;
  /** The shim's statistics payload. */
  stats(ctx: Context): Promise<AnyValue | undefined>;
  /** Updates resources and annotations. */
  update(ctx: Context, resources: AnyValue | undefined, annotations: Readonly<Record<string, string>>): Promise<void>;
  /** Checkpoints the container into `path`. */
  checkpoint(ctx: Context, path: string, options: AnyValue | undefined): Promise<void>;
}

/** What a runtime needs to create a task (containerd's `runtime.CreateOpts`). */
export interface RuntimeCreateOptions {
  /** The container's OCI spec Any; its value is written as the bundle's `config.json` byte for byte. */
  readonly spec: AnyValue;
  /** Root filesystem mounts, passed to the shim verbatim. */
  readonly rootfs: readonly Mount[];
  readonly io: TaskIO;
  /** A checkpoint directory to restore from (`""` for none). */
  readonly checkpoint: string;
  /** The runtime name (`io.containerd.runc.v2`) or an absolute shim binary path. */
  readonly runtime: string;
  /** The container's runtime options. */
  readonly runtimeOptions?: AnyValue;
  /** Task options; they win over {@link runtimeOptions}. */
  readonly taskOptions?: AnyValue;
}

/**
 * A runtime that runs tasks (containerd's `runtime.PlatformRuntime`), keyed by namespace (from the
 * context) and id.
 */
export interface PlatformRuntime {
  /**
   * Creates a task.
   * @throws AlreadyExistsError `task <id>: already exists` when the namespace has a task with that id;
   *   `failed to start shim: …` errors (runtime resolution, bundle, shim start) and
   *   `failed to create shim task: …` errors (the shim's Create); nothing is left behind on failure.
   */
  create(ctx: Context, id: string, options: RuntimeCreateOptions): Promise<RuntimeTask>;
  /** The task `id` of the context's namespace. @throws NotFoundError when there is none. */
  get(ctx: Context, id: string): RuntimeTask;
  /** The tasks of the context's namespace, or of every namespace with `all`. */
  tasks(ctx: Context, all: boolean): RuntimeTask[];
  /**
   * Deletes a task: the shim's Delete, then Shutdown, then the bundle.
   * @throws NotFoundError when there is no such task; `failed to delete task: …` with the shim's error
   *   (a running task stays).
   */
  delete(ctx: Context, id: string): Promise<Exit>;
}
