/**
 * The domain types of tasks and the {@link TaskService} interface (containerd's `services/tasks` API in
 * native types). A task is the running state of a container: its init process plus exec processes, run
 * by a runtime v2 shim.
 */
import type { AnyValue } from "@containerts/containers";
import type { Context } from "@containerts/namespaces";

export type { AnyValue } from "@containerts/containers";

/** The state of a process, as containerd's `containerd.v1.types.Status` (lower-cased like the Go client). */
export type TaskStatus = "unknown" | "created" | "running" | "stopped" | "paused" | "pausing";

/** The exit status containerd reports when the real one is unknown (a dead shim whose `delete` failed). */
export const UNKNOWN_EXIT_STATUS = 255;

/**
 * Go's zero `time.Time` (0001-01-01T00:00:00Z): the `exitedAt` of a process that has not exited, and what
 * a missing timestamp reads as.
 */
export const ZERO_TIME: Date = new Date(-62135596800000);

/** A mount of the root filesystem, passed verbatim to the shim (containerd's `containerd.types.Mount`). */
export interface Mount {
  /** The file system type (`overlay`, `bind`, …). */
  readonly type: string;
  /** The source (device, directory or `overlay`). */
  readonly source: string;
  /** The target inside the rootfs; snapshotters leave it empty. */
  readonly target: string;
  /** Mount options (`lowerdir=…`, `rbind`, `ro`, …). */
  readonly options: readonly string[];
}

/**
 * The standard streams of a process, as strings the shim opens: FIFO paths (an empty string is not
 * connected), or a `file://` / `binary://` URI in `stdout`.
 */
export interface TaskIO {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  /** A pty is allocated; `stderr` is unused. */
  readonly terminal: boolean;
}

/** How and when a process ended. */
export interface Exit {
  /** The process id it had (0 when unknown). */
  readonly pid: number;
  /** The exit code, or 128 + signal for a signalled process; {@link UNKNOWN_EXIT_STATUS} when unknown. */
  readonly exitStatus: number;
  /** When it was reaped (to the millisecond). */
  readonly exitedAt: Date;
  /** Nanoseconds within the millisecond of {@link exitedAt} (0–999999), to keep containerd's precision. */
  readonly exitedAtNanos: number;
}

/** A process as `Tasks.Get` and `Tasks.List` report it (containerd's `containerd.v1.types.Process`). */
export interface ProcessState {
  /** The container id for the init process, the exec id for an exec process. */
  readonly id: string;
  readonly pid: number;
  readonly status: TaskStatus;
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
  /** Meaningful once {@link status} is `stopped`. */
  readonly exitStatus: number;
  /** {@link ZERO_TIME} until the process exited. */
  readonly exitedAt: Date;
  /** Nanoseconds within the millisecond of {@link exitedAt}. */
  readonly exitedAtNanos: number;
}

/** A process of a task as `ListPids` reports it. */
export interface ProcessInfo {
  readonly pid: number;
  /** Runtime-specific details (the runc shims send `containerd.runc.v1.ProcessDetails{exec_id}` for execs). */
  readonly info?: AnyValue;
}

/** Statistics of one task (`Tasks.Metrics`). */
export interface Metric {
  /** When they were collected. */
  readonly timestamp: Date;
  /** The container id. */
  readonly id: string;
  /** The shim's `Stats` payload (`io.containerd.cgroups.v1.Metrics` or `.v2.Metrics`). */
  readonly data?: AnyValue;
}

/** A content descriptor (only for checkpoint restore). */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations: Readonly<Record<string, string>>;
}

/** The input of {@link TaskService.create}. */
export interface CreateTaskRequest {
  /** The container to run; it must exist. */
  readonly containerId: string;
  /** The root filesystem mounts, passed to the shim verbatim (the daemon never consults snapshots). */
  readonly rootfs?: readonly Mount[];
  /** The init process's streams. */
  readonly io?: Partial<TaskIO>;
  /** A checkpoint to restore from (not supported: NotImplementedError). */
  readonly checkpoint?: Descriptor;
  /** Task options for the shim; the container's runtime options are used when absent. */
  readonly options?: AnyValue;
  /** An absolute shim binary path overriding the container's runtime. */
  readonly runtimePath?: string;
}

/** The result of {@link TaskService.create}. */
export interface CreatedTask {
  readonly containerId: string;
  /** The pid of the created (not yet started) init process. */
  readonly pid: number;
}

/** Names a process: the init process when `execId` is empty or absent, else that exec process. */
export interface ProcessRef {
  readonly containerId: string;
  readonly execId?: string;
}

/** The input of {@link TaskService.kill}. */
export interface KillRequest extends ProcessRef {
  /** The signal number. */
  readonly signal: number;
  /** Signal every process of the container (init only). */
  readonly all?: boolean;
}

/** The input of {@link TaskService.exec}. */
export interface ExecRequest {
  readonly containerId: string;
  /** The new process's id: required, an identifier, unique in the task. */
  readonly execId: string;
  readonly io?: Partial<TaskIO>;
  /** The OCI process spec (`types.containerd.io/opencontainers/runtime-spec/1/Process`, JSON). */
  readonly spec?: AnyValue;
}

/** The input of {@link TaskService.resizePty}. */
export interface ResizePtyRequest extends ProcessRef {
  readonly width: number;
  readonly height: number;
}

/** The input of {@link TaskService.closeIO}. */
export interface CloseIORequest extends ProcessRef {
  /** Close the process's stdin; nothing happens without it (as in containerd). */
  readonly stdin: boolean;
}

/** The input of {@link TaskService.update}. */
export interface UpdateTaskRequest {
  readonly containerId: string;
  /** New resources (`…/runtime-spec/1/LinuxResources`, JSON). */
  readonly resources?: AnyValue;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The result of {@link TaskService.delete} and {@link TaskService.deleteProcess}. */
export interface DeletedProcess extends Exit {
  /** Empty for a task, the exec id for an exec process. */
  readonly id: string;
}

/**
 * The tasks service (the `io.containerd.service.v1 tasks-service` instance): creates tasks for containers
 * through their runtime and operates on their processes.
 *
 * Lifecycle: `create` starts a shim and creates the init process (status `created`); `start` runs it;
 * `exec` adds processes (`created` until started); `wait` resolves when a process exits, also when it
 * exited before the call; `delete` removes a stopped (or never started) task and its shim, after which
 * `get` is NotFound.
 *
 * Error contract (every method): FailedPreconditionError without a namespace; NotFoundError
 * `container "<id>" in namespace "<ns>": not found` for an unknown container, `task <id> not found` when
 * the container has no task; for an unknown exec process the shim's NotFoundError; errors of the shim
 * keep their kind (UnknownError when it sent none, UnavailableError `ttrpc: closed` when it died).
 */
export interface TaskService {
  /**
   * Creates the task of a container: resolves its runtime, writes the bundle, starts the shim and creates
   * the init process.
   * @throws AlreadyExistsError `task <id>: already exists`; InvalidArgumentError for a spec that is not
   *   JSON or an invalid runtime name; NotFoundError when the runtime's shim binary is not installed;
   *   NotImplementedError for a checkpoint; the shim's errors (`failed to create shim task: …`).
   */
  create(ctx: Context, req: CreateTaskRequest): Promise<CreatedTask>;
  /** Starts the init or an exec process and returns its pid. */
  start(ctx: Context, ref: ProcessRef): Promise<number>;
  /**
   * Deletes a task (its init process must not be running) and shuts its shim down.
   * @throws the shim's error for a running task (`failed to delete task: …`).
   */
  delete(ctx: Context, containerId: string): Promise<DeletedProcess>;
  /** Deletes an exited (or never started) exec process. */
  deleteProcess(ctx: Context, ref: Required<ProcessRef>): Promise<DeletedProcess>;
  /**
   * The state of a process. The shim is asked with a 2 s timeout; when it fails for another reason than
   * NotFound, the status is `unknown`.
   */
  get(ctx: Context, ref: ProcessRef): Promise<ProcessState>;
  /** The init processes of every task of the namespace (tasks whose state is NotFound are left out). */
  list(ctx: Context): Promise<ProcessState[]>;
  /** Sends a signal. @throws NotFoundError `process already finished` (from the shim) after the exit. */
  kill(ctx: Context, req: KillRequest): Promise<void>;
  /**
   * Adds an exec process (created, not started).
   * @throws InvalidArgumentError `exec id cannot be empty`, an exec id that is not an identifier, or no spec;
   *   AlreadyExistsError from the shim for a duplicate id.
   */
  exec(ctx: Context, req: ExecRequest): Promise<void>;
  /** Resizes a process's pty. */
  resizePty(ctx: Context, req: ResizePtyRequest): Promise<void>;
  /** Closes a process's stdin (only when `stdin` is true). */
  closeIO(ctx: Context, req: CloseIORequest): Promise<void>;
  /** Freezes the task's processes. */
  pause(ctx: Context, containerId: string): Promise<void>;
  /** Thaws them. */
  resume(ctx: Context, containerId: string): Promise<void>;
  /** The processes of the task. */
  listPids(ctx: Context, containerId: string): Promise<ProcessInfo[]>;
  /** Not supported. @throws NotImplementedError once the task is found. */
  checkpoint(ctx: Context, containerId: string): Promise<never>;
  /** Updates resources and annotations. */
  update(ctx: Context, req: UpdateTaskRequest): Promise<void>;
  /**
   * Statistics of the namespace's tasks matching any of `filters` (fields `id`, `namespace`); tasks whose
   * shim cannot answer are left out.
   * @throws UnknownError `filters: parse error: …` for a filter that does not parse (as containerd).
   */
  metrics(ctx: Context, filters?: readonly string[]): Promise<Metric[]>;
  /** Resolves when the process exits (at once when it already has). */
  wait(ctx: Context, ref: ProcessRef): Promise<Exit>;
}
