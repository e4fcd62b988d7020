/**
 * The tasks service over gRPC (`containerd.services.tasks.v1.Tasks`), for clients.
 */
import type { ChannelCredentials, ClientOptions } from "@grpc/grpc-js";
import { TasksClient } from "@containerts/api/services/tasks/v1";
import { UnknownError } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { callUnary } from "@containerts/namespaces/grpc";
import type {
  CloseIORequest,
  CreateTaskRequest,
  CreatedTask,
  DeletedProcess,
  ExecRequest,
  Exit,
  KillRequest,
  Metric,
  ProcessInfo,
  ProcessRef,
  ProcessState,
  ResizePtyRequest,
  TaskService,
  UpdateTaskRequest,
} from "../task.js";
import {
  anyToProto,
  descriptorToProto,
  exitFromProto,
  metricFromProto,
  mountToProto,
  optionalAnyToProto,
  processFromProto,
  processInfoFromProto,
} from "./../grpc/convert.js";

/** Where a proxy connects: address, credentials and client options (e.g. a shared `channelOverride`). */
export interface ProxyTarget {
  readonly address: string;
  readonly credentials: ChannelCredentials;
  readonly options: Partial<ClientOptions>;
}

/**
 * {@link TaskService} over the daemon's Tasks service. Errors are the server's, mapped back to their
 * kinds. `wait` has no deadline: abort it through the context's signal.
 */
export class ProxyTaskService implements TaskService {
  readonly #c: TasksClient;

  constructor(target: ProxyTarget) {
    this.#c = new TasksClient(target.address, target.credentials, target.options);
  }

  async create(ctx: Context, req: CreateTaskRequest): Promise<CreatedTask> {
    const r = await callUnary(
      this.#c.create.bind(this.#c),
      {
        containerId: req.containerId,
        rootfs: (req.rootfs ?? []).map(mountToProto),
        stdin: req.io?.stdin ?? "",
        stdout: req.io?.stdout ?? "",
        stderr: req.io?.stderr ?? "",
        terminal: req.io?.terminal ?? false,
        checkpoint: req.checkpoint === undefined ? undefined : descriptorToProto(req.checkpoint),
        options: optionalAnyToProto(req.options),
        runtimePath: req.runtimePath ?? "",
      },
      ctx,
    );
    return { containerId: r.containerId, pid: r.pid };
  }

  async start(ctx: Context, ref: ProcessRef): Promise<number> {
    return (await callUnary(this.#c.start.bind(this.#c), { containerId: ref.containerId, execId: ref.execId ?? "" }, ctx)).pid;
  }

  async delete(ctx: Context, containerId: string): Promise<DeletedProcess> {
    const r = await callUnary(this.#c.delete.bind(this.#c), { containerId }, ctx);
    return { id: r.id, ...exitFromProto(r.pid, r.exitStatus, r.exitedAt) };
  }

  async deleteProcess(ctx: Context, ref: Required<ProcessRef>): Promise<DeletedProcess> {
    const r = await callUnary(this.#c.deleteProcess.bind(this.#c), { containerId: ref.containerId, execId: ref.execId }, ctx);
    return { id: r.id, ...exitFromProto(r.pid, r.exitStatus, r.exitedAt) };
  }

  async get(ctx: Context, ref: ProcessRef): Promise<ProcessState> {
    const r = await callUnary(this.#c.get.bind(this.#c), { containerId: ref.containerId, execId: ref.execId ?? "" }, ctx);
    if (r.process === undefined) throw new UnknownError("tasks get: response carries no process");
    return processFromProto(r.process);
  }

  async list(ctx: Context): Promise<ProcessState[]> {
    return (await callUnary(this.#c.list.bind(this.#c), { filter: "" }, ctx)).tasks.map(processFromProto);
  }

  async kill(ctx: Context, req: KillRequest): Promise<void> {
    await callUnary(
      this.#c.kill.bind(this.#c),
      { containerId: req.containerId, execId: req.execId ?? "", signal: req.signal, all: req.all ?? false },
      ctx,
    );
  }

  async exec(ctx: Context, req: ExecRequest): Promise<void> {
    await callUnary(
      this.#c.exec.bind(this.#c),
      {
        containerId: req.containerId,
        execId: req.execId,
        stdin: req.io?.stdin ?? "",
        stdout: req.io?.stdout ?? "",
        stderr: req.io?.stderr ?? "",
        terminal: req.io?.terminal ?? false,
        spec: optionalAnyToProto(req.spec),
      },
      ctx,
    );
  }

  async resizePty(ctx: Context, req: ResizePtyRequest): Promise<void> {
    await callUnary(
      this.#c.resizePty.bind(this.#c),
      { containerId: req.containerId, execId: req.execId ?? "", width: req.width, height: req.height },
      ctx,
    );
  }

  async closeIO(ctx: Context, req: CloseIORequest): Promise<void> {
    await callUnary(this.#c.closeIo.bind(this.#c), { containerId: req.containerId, execId: req.execId ?? "", stdin: req.stdin }, ctx);
  }

  async pause(ctx: Context, containerId: string): Promise<void> {
    await callUnary(this.#c.pause.bind(this.#c), { containerId }, ctx);
  }

  async resume(ctx: Context, containerId: string): Promise<void> {
    await callUnary(this.#c.resume.bind(this.#c), { containerId }, ctx);
  }

  async listPids(ctx: Context, containerId: string): Promise<ProcessInfo[]> {
    return (await callUnary(this.#c.listPids.bind(this.#c), { containerId }, ctx)).processes.map(processInfoFromProto);
  }

  async checkpoint(ctx: Context, containerId: string): Promise<never> {
    await callUnary(this.#c.checkpoint.bind(this.#c), { containerId, parentCheckpoint: "", options: undefined }, ctx);
    throw new UnknownError("tasks checkpoint: the server answered, but this client does not read checkpoints");
  }

  async update(ctx: Context, req: UpdateTaskRequest): Promise<void> {
    await callUnary(
      this.#c.update.bind(this.#c),
      {
        containerId: req.containerId,
        resources: req.resources === undefined ? undefined : anyToProto(req.resources),
        annotations: { ...(req.annotations ?? {}) },
      },
      ctx,
    );
  }

  async metrics(ctx: Context, filters: readonly string[] = []): Promise<Metric[]> {
    return (await callUnary(this.#c.metrics.bind(this.#c), { filters: [...filters] }, ctx)).metrics.map(metricFromProto);
  }

  async wait(ctx: Context, ref: ProcessRef): Promise<Exit> {
    const r = await callUnary(this.#c.wait.bind(this.#c), { containerId: ref.containerId, execId: ref.execId ?? "" }, ctx);
    return exitFromProto(0, r.exitStatus, r.exitedAt);
  }

  /** Closes the gRPC client (a shared channel given through `options.channelOverride` stays open). */
  close(): void {
    this.#c.close();
  }
}
