/**
 * The `containerd.task.v2.Task` ttrpc service over {@link TaskService}: each handler decodes its request,
 * calls the service, and encodes the response. Errors keep their errdefs kind, which the ttrpc server
 * maps to the status code.
 */
import { Empty } from "@containerts/api/protobuf";
import {
  CheckpointTaskRequest,
  CloseIORequest,
  ConnectRequest,
  ConnectResponse,
  CreateTaskRequest,
  CreateTaskResponse,
  DeleteRequest,
  DeleteResponse,
  ExecProcessRequest,
  KillRequest,
  PauseRequest,
  PidsRequest,
  PidsResponse,
  ResizePtyRequest,
  ResumeRequest,
  ShutdownRequest,
  StartRequest,
  StartResponse,
  StateRequest,
  StateResponse,
  StatsRequest,
  StatsResponse,
  UpdateTaskRequest,
  WaitRequest,
  WaitResponse,
} from "@containerts/api/runtime/task/v2";
import { InvalidArgumentError } from "@containerts/errdefs";
import { type TtrpcServer, type TtrpcServiceMethods, unaryHandler } from "@containerts/ttrpc";
import type { TaskService } from "../service.js";
import { optionsFromProto, processDetails, statsToProto, statusToProto, timestamp } from "./convert.js";

/** The ttrpc service name. */
export const TASK_SERVICE = "containerd.task.v2.Task";

const empty = (): Empty => ({});

/** The handlers of `containerd.task.v2.Task` for a service. */
export function taskServiceMethods(svc: TaskService, shimPid: number = process.pid): TtrpcServiceMethods {
  return {
    State: unaryHandler(StateRequest, StateResponse, (r) => {
      const s = svc.state(r.id, r.execId);
      return {
        id: s.id,
        bundle: s.bundle,
        pid: s.pid,
        status: statusToProto(s.status),
        stdin: s.stdio.stdin,
        stdout: s.stdio.stdout,
        stderr: s.stdio.stderr,
        terminal: s.stdio.terminal,
        exitStatus: s.exitStatus,
        exitedAt: timestamp(s.exitedAt),
        execId: s.execId,
      };
    }),
    Create: unaryHandler(CreateTaskRequest, CreateTaskResponse, async (r) => {
      const pid = await svc.create({
        id: r.id,
        bundle: r.bundle,
        rootfs: r.rootfs.map((m) => ({ type: m.type, source: m.source, target: m.target, options: m.options })),
        stdio: { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal },
        checkpoint: r.checkpoint,
        parentCheckpoint: r.parentCheckpoint,
        options: optionsFromProto(r.options),
      });
      return { pid };
    }),
    Start: unaryHandler(StartRequest, StartResponse, async (r) => ({ pid: await svc.start(r.id, r.execId) })),
    Delete: unaryHandler(DeleteRequest, DeleteResponse, async (r) => {
      const e = await svc.delete(r.id, r.execId);
      return { pid: e.pid, exitStatus: e.exitStatus, exitedAt: timestamp(e.exitedAt) };
    }),
    Pids: unaryHandler(PidsRequest, PidsResponse, async (r) => ({
      processes: (await svc.pids(r.id)).map((p) => ({ pid: p.pid, info: p.execId === undefined ? undefined : processDetails(p.execId) })),
    })),
    Pause: unaryHandler(PauseRequest, Empty, async (r) => {
      await svc.pause(r.id);
      return empty();
    }),
    Resume: unaryHandler(ResumeRequest, Empty, async (r) => {
      await svc.resume(r.id);
      return empty();
    }),
    Checkpoint: unaryHandler(CheckpointTaskRequest, Empty, (r) => svc.checkpoint(r.id)),
    Kill: unaryHandler(KillRequest, Empty, async (r) => {
      await svc.kill(r.id, r.execId, r.signal, r.all);
      return empty();
    }),
    Exec: unaryHandler(ExecProcessRequest, Empty, async (r) => {
      if (r.spec === undefined) throw new InvalidArgumentError(`exec ${r.execId}: process spec is required`);
      await svc.exec(r.id, r.execId, { stdio: { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal }, spec: r.spec.value });
      return empty();
    }),
    ResizePty: unaryHandler(ResizePtyRequest, Empty, (r) => {
      svc.resizePty(r.id, r.execId, r.width, r.height);
      return empty();
    }),
    CloseIO: unaryHandler(CloseIORequest, Empty, (r) => {
      svc.closeIO(r.id, r.execId);
      return empty();
    }),
    Update: unaryHandler(UpdateTaskRequest, Empty, async (r) => {
      if (r.resources === undefined) throw new InvalidArgumentError("update: resources are required");
      await svc.update(r.id, r.resources.value);
      return empty();
    }),
    Wait: unaryHandler(WaitRequest, WaitResponse, async (r) => {
      const e = await svc.wait(r.id, r.execId);
      return { exitStatus: e.exitStatus, exitedAt: timestamp(e.exitedAt) };
    }),
    Stats: unaryHandler(StatsRequest, StatsResponse, async (r) => ({ stats: statsToProto(await svc.stats(r.id)) })),
    Connect: unaryHandler(ConnectRequest, ConnectResponse, (r) => ({ shimPid, taskPid: svc.connect(r.id), version: "" })),
    Shutdown: unaryHandler(ShutdownRequest, Empty, () => {
      svc.shutdown();
      return empty();
    }),
  };
}

/** Registers the task service on a ttrpc server. */
export function registerTaskService(server: TtrpcServer, svc: TaskService): void {
  server.register(TASK_SERVICE, taskServiceMethods(svc));
}
