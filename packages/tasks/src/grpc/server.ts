/**
 * The Tasks gRPC service (`containerd.services.tasks.v1.Tasks`) over a {@link TaskService}: parse, call,
 * convert; errors become gRPC statuses in the shared wrappers.
 */
import { TasksService, type TasksServer } from "@containerts/api/services/tasks/v1";
import { grpcService, unary, type GrpcServicePlugin } from "@containerts/namespaces/grpc";
import type { TaskService } from "../task.js";
import {
  anyFromProto,
  descriptorFromProto,
  metricToProto,
  mountFromProto,
  optionalAnyFromProto,
  processInfoToProto,
  processToProto,
  timeToProto,
} from "./convert.js";

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * Builds the Tasks gRPC service over `service` (the `tasks-service` plugin). Responses follow containerd
 * 1.6: Get's process has an empty `container_id`, Delete's response an empty `id`, Wait works before
 * Start and after the exit.
 */
export function createTasksServer(service: TaskService): GrpcServicePlugin {
  const impl: TasksServer = {
    create: unary(async (req, ctx) => {
      const r = await service.create(ctx, {
        containerId: req.containerId,
        rootfs: req.rootfs.map(mountFromProto),
        io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
        ...opt("checkpoint", req.checkpoint === undefined ? undefined : descriptorFromProto(req.checkpoint)),
        ...opt("options", optionalAnyFromProto(req.options)),
        runtimePath: req.runtimePath,
      });
      return { containerId: r.containerId, pid: r.pid };
    }),

    start: unary(async (req, ctx) => ({ pid: await service.start(ctx, { containerId: req.containerId, execId: req.execId }) })),

    delete: unary(async (req, ctx) => {
      const r = await service.delete(ctx, req.containerId);
      return { id: r.id, pid: r.pid, exitStatus: r.exitStatus, exitedAt: timeToProto(r.exitedAt, r.exitedAtNanos) };
    }),

    deleteProcess: unary(async (req, ctx) => {
      const r = await service.deleteProcess(ctx, { containerId: req.containerId, execId: req.execId });
      return { id: r.id, pid: r.pid, exitStatus: r.exitStatus, exitedAt: timeToProto(r.exitedAt, r.exitedAtNanos) };
    }),

    get: unary(async (req, ctx) => ({
      process: processToProto(await service.get(ctx, { containerId: req.containerId, execId: req.execId })),
    })),

    list: unary(async (_req, ctx) => ({ tasks: (await service.list(ctx)).map(processToProto) })),

    kill: unary(async (req, ctx) => {
      await service.kill(ctx, { containerId: req.containerId, execId: req.execId, signal: req.signal, all: req.all });
      return {};
    }),

    exec: unary(async (req, ctx) => {
      await service.exec(ctx, {
        containerId: req.containerId,
        execId: req.execId,
        io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
        ...opt("spec", optionalAnyFromProto(req.spec)),
      });
      return {};
    }),

    resizePty: unary(async (req, ctx) => {
      await service.resizePty(ctx, { containerId: req.containerId, execId: req.execId, width: req.width, height: req.height });
      return {};
    }),

    closeIo: unary(async (req, ctx) => {
      await service.closeIO(ctx, { containerId: req.containerId, execId: req.execId, stdin: req.stdin });
      return {};
    }),

    pause: unary(async (req, ctx) => {
      await service.pause(ctx, req.containerId);
      return {};
    }),

    resume: unary(async (req, ctx) => {
      await service.resume(ctx, req.containerId);
      return {};
    }),

    listPids: unary(async (req, ctx) => ({ processes: (await service.listPids(ctx, req.containerId)).map(processInfoToProto) })),

    checkpoint: unary(async (req, ctx) => service.checkpoint(ctx, req.containerId)),

    update: unary(async (req, ctx) => {
      await service.update(ctx, {
        containerId: req.containerId,
        ...opt("resources", req.resources === undefined ? undefined : anyFromProto(req.resources)),
        annotations: { ...req.annotations },
      });
      return {};
    }),

    metrics: unary(async (req, ctx) => ({ metrics: (await service.metrics(ctx, req.filters)).map(metricToProto) })),

    wait: unary(async (req, ctx) => {
      const r = await service.wait(ctx, { containerId: req.containerId, execId: req.execId });
      return { exitStatus: r.exitStatus, exitedAt: timeToProto(r.exitedAt, r.exitedAtNanos) };
    }),
  };
  return grpcService(TasksService, impl);
}
