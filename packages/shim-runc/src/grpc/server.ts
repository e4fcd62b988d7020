/**
 * The `containerd.task.v2.Task` ttrpc service over {@link TaskService}: each handler decodes its request,
 * calls the service, and encodes the response. Errors keep their errdefs kind, which the ttrpc server
 * maps to the status code.
 */
import { Empty } from "@containerts/api/protobuf";
import { TASK_SERVICE, TaskMethods } from "@containerts/api/runtime/task/v2";
import { InvalidArgumentError } from "@containerts/errdefs";
import { type TtrpcServer, type TtrpcServiceMethods, unaryHandler } from "@containerts/ttrpc";
import type { TaskService } from "../service.js";
import { optionsFromProto, processDetails, statsToProto, statusToProto, timestamp } from "./convert.js";

/** The ttrpc service name. */
export { TASK_SERVICE };

const empty = (): Empty => ({});

/** The handlers of `containerd.task.v2.Task` for a service. */
export function taskServiceMethods(svc: TaskService, shimPid: number = process.pid): TtrpcServiceMethods {
  return {
    State: unaryHandler(...TaskMethods.State, (r) => {
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
    Create: unaryHandler(...TaskMethods.Create, async (r) => {
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
    Start: unaryHandler(...TaskMethods.Start, async (r) => ({ pid: await svc.start(r.id, r.execId) })),
    Delete: unaryHandler(...TaskMethods.Delete, async (r) => {
      const e = await svc.delete(r.id, r.execId);
      return { pid: e.pid, exitStatus: e.exitStatus, exitedAt: timestamp(e.exitedAt) };
    }),
    Pids: unaryHandler(...TaskMethods.Pids, async (r) => ({
      processes: (await svc.pids(r.id)).map((p) => ({ pid: p.pid, info: p.execId === undefined ? undefined : processDetails(p.execId) })),
    })),
    Pause: unaryHandler(...TaskMethods.Pause, async (r) => {
      await svc.pause(r.id);
      return empty();
    }),
    Resume: unaryHandler(...TaskMethods.Resume, async (r) => {
      await svc.resume(r.id);
      return empty();
    }),
    Checkpoint: unaryHandler(...TaskMethods.Checkpoint, (r) => svc.checkpoint(r.id)),
    Kill: unaryHandler(...TaskMethods.Kill, async (r) => {
      await svc.kill(r.id, r.execId, r.signal, r.all);
      return empty();
    }),
    Exec: unaryHandler(...TaskMethods.Exec, async (r) => {
      if (r.spec === undefined) throw new InvalidArgumentError(`exec ${r.execId}: process spec is required`);
      await svc.exec(r.id, r.execId, { stdio: { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal }, spec: r.spec.value });
      return empty();
    }),
    ResizePty: unaryHandler(...TaskMethods.ResizePty, (r) => {
      svc.resizePty(r.id, r.execId, r.width, r.height);
      return empty();
    }),
    CloseIO: unaryHandler(...TaskMethods.CloseIO, (r) => {
      svc.closeIO(r.id, r.execId);
      return empty();
    }),
    Update: unaryHandler(...TaskMethods.Update, async (r) => {
      if (r.resources === undefined) throw new InvalidArgumentError("update: resources are required");
      await svc.update(r.id, r.resources.value);
      return empty();
    }),
    Wait: unaryHandler(...TaskMethods.Wait, async (r) => {
      const e = await svc.wait(r.id, r.execId);
      return { exitStatus: e.exitStatus, exitedAt: timestamp(e.exitedAt) };
    }),
    Stats: unaryHandler(...TaskMethods.Stats, async (r) => ({ stats: statsToProto(await svc.stats(r.id)) })),
    Connect: unaryHandler(...TaskMethods.Connect, (r) => ({ shimPid, taskPid: svc.connect(r.id), version: "" })),
    Shutdown: unaryHandler(...TaskMethods.Shutdown, () => {
      svc.shutdown();
      return empty();
    }),
  };
}

/** Registers the task service on a ttrpc server. */
export function registerTaskService(server: TtrpcServer, svc: TaskService): void {
  server.register(TASK_SERVICE, taskServiceMethods(svc));
}
