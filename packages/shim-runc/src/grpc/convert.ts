/**
 * Conversions between the shim's domain values and the wire messages of `containerd.task.v2`,
 * `containerd.events`, `containerd.runc.v1` and the cgroups metrics: the only place that knows both.
 */
import { type Any, type Timestamp } from "@containerts/api/protobuf";
import { Metrics as MetricsV1 } from "@containerts/api/cgroups/v1";
import { Metrics as MetricsV2 } from "@containerts/api/cgroups/v2";
import { TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskExit, TaskOOM, TaskPaused, TaskResumed, TaskStart } from "@containerts/api/events";
import { Options, ProcessDetails } from "@containerts/api/runc/options";
import { Status } from "@containerts/api/types/task";
import { CgroupsTypeUrl, EventTypeUrl, RuncTypeUrl, packAny, toTimestamp } from "@containerts/api/typeurl";
import { InvalidArgumentError } from "@containerts/errdefs";
import type { Mount, TaskEvent } from "../events.js";
import { EMPTY_OPTIONS, type RuncOptions } from "../options.js";
import type { ProcessStatus, } from "../process.js";
import type { TaskStats } from "../service.js";

/** A Timestamp for a Date; undefined stays undefined (the Go zero time on the other side). */
export function timestamp(d: Date | undefined): Timestamp | undefined {
  return d === undefined ? undefined : toTimestamp(d);
}

/** Wire status of a domain status. */
export function statusToProto(s: ProcessStatus): Status {
  switch (s) {
    case "created":
      return Status.CREATED;
    case "running":
      return Status.RUNNING;
    case "stopped":
      return Status.STOPPED;
    case "paused":
      return Status.PAUSED;
    case "pausing":
      return Status.PAUSING;
  }
}

/**
 * The runc options of a Create request: `containerd.runc.v1.Options` when the Any holds them, the empty
 * options when there is no Any (or it has an empty type URL) or it holds anything else, as the runc shim.
 * Throws InvalidArgumentError when the Options bytes do not decode.
 */
export function optionsFromProto(any: Any | undefined): RuncOptions {
  if (any === undefined || any.typeUrl !== RuncTypeUrl.Options) return EMPTY_OPTIONS;
  let o: Options;
  try {
    o = Options.decode(any.value);
  } catch (cause) {
    throw new InvalidArgumentError(`decode ${RuncTypeUrl.Options}`, { cause });
  }
  return {
    noPivotRoot: o.noPivotRoot,
    noNewKeyring: o.noNewKeyring,
    shimCgroup: o.shimCgroup,
    ioUid: o.ioUid,
    ioGid: o.ioGid,
    binaryName: o.binaryName,
    root: o.root,
    criuPath: o.criuPath,
    systemdCgroup: o.systemdCgroup,
    criuImagePath: o.criuImagePath,
    criuWorkPath: o.criuWorkPath,
  };
}

/** `containerd.runc.v1.ProcessDetails{exec_id}` packed as an Any (ListPids info of an exec process). */
export function processDetails(execId: string): Any {
  return packAny(RuncTypeUrl.ProcessDetails, ProcessDetails.encode({ execId }).finish());
}

/** The metrics Any of Stats: `io.containerd.cgroups.v1.Metrics` or `.v2.Metrics`. */
export function statsToProto(s: TaskStats): Any {
  if (s.version === 1) return packAny(CgroupsTypeUrl.MetricsV1, MetricsV1.encode(MetricsV1.fromPartial(s.stats)).finish());
  return packAny(CgroupsTypeUrl.MetricsV2, MetricsV2.encode(MetricsV2.fromPartial(s.stats)).finish());
}

function mountsToProto(ms: readonly Mount[]): { type: string; source: string; target: string; options: string[] }[] {
  return ms.map((m) => ({ type: m.type, source: m.source, target: m.target, options: [...m.options] }));
}

/** An event as the Any of an Envelope (bare type URL, protobuf bytes). */
export function eventToAny(e: TaskEvent): Any {
  switch (e.topic) {
    case "/tasks/create":
      return packAny(
        EventTypeUrl.TaskCreate,
        TaskCreate.encode({
          containerId: e.containerId,
          bundle: e.bundle,
          rootfs: mountsToProto(e.rootfs),
          io: { stdin: e.io.stdin, stdout: e.io.stdout, stderr: e.io.stderr, terminal: e.io.terminal },
          checkpoint: e.checkpoint,
          pid: e.pid,
        }).finish(),
      );
    case "/tasks/start":
      return packAny(EventTypeUrl.TaskStart, TaskStart.encode({ containerId: e.containerId, pid: e.pid }).finish());
    case "/tasks/exit":
      return packAny(
        EventTypeUrl.TaskExit,
        TaskExit.encode({ containerId: e.containerId, id: e.id, pid: e.pid, exitStatus: e.exitStatus, exitedAt: toTimestamp(e.exitedAt) }).finish(),
      );
    case "/tasks/delete":
      return packAny(
        EventTypeUrl.TaskDelete,
        TaskDelete.encode({ containerId: e.containerId, pid: e.pid, exitStatus: e.exitStatus, exitedAt: timestamp(e.exitedAt), id: "" }).finish(),
      );
    case "/tasks/exec-added":
      return packAny(EventTypeUrl.TaskExecAdded, TaskExecAdded.encode({ containerId: e.containerId, execId: e.execId }).finish());
    case "/tasks/exec-started":
      return packAny(EventTypeUrl.TaskExecStarted, TaskExecStarted.encode({ containerId: e.containerId, execId: e.execId, pid: e.pid }).finish());
    case "/tasks/paused":
      return packAny(EventTypeUrl.TaskPaused, TaskPaused.encode({ containerId: e.containerId }).finish());
    case "/tasks/resumed":
      return packAny(EventTypeUrl.TaskResumed, TaskResumed.encode({ containerId: e.containerId }).finish());
    case "/tasks/oom":
      return packAny(EventTypeUrl.TaskOOM, TaskOOM.encode({ containerId: e.containerId }).finish());
  }
}
