/**
 * The runtime v2 shim API (`containerd.task.v2.Task`), served by every shim over ttrpc.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  CheckpointTaskRequest,
  CloseIORequest,
  ConnectRequest,
  ConnectResponse,
  CreateTaskRequest,
  CreateTaskResponse,
  DeleteRequest,
  DeleteResponse,
  ExecProcessRequest,
  ExecProcessResponse,
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
  TaskClient,
  TaskService,
  UpdateTaskRequest,
  WaitRequest,
  WaitResponse,
} from "../../gen/containerd/task/v2/shim.js";
export type {
  TaskServer,
} from "../../gen/containerd/task/v2/shim.js";

import { Empty } from "../../gen/google/protobuf/empty.js";
import * as shim from "../../gen/containerd/task/v2/shim.js";

/** A generated message type's codec, as far as a ttrpc method needs it. */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** One method's request and response codecs. */
export type TaskMethod<Req, Res> = readonly [MessageCodec<Req>, MessageCodec<Res>];

/** The ttrpc service name of the shim API. */
export const TASK_SERVICE = "containerd.task.v2.Task";

/**
 * The shim API's methods: for each method name, its request and response codecs. The one table that
 * ttrpc servers (our shim) and clients (the daemon's shim proxy) of `containerd.task.v2.Task` build on,
 * e.g. `unaryMethod(TASK_SERVICE, "State", ...TaskMethods.State)`.
 */
export const TaskMethods: {
  readonly State: TaskMethod<shim.StateRequest, shim.StateResponse>;
  readonly Create: TaskMethod<shim.CreateTaskRequest, shim.CreateTaskResponse>;
  readonly Start: TaskMethod<shim.StartRequest, shim.StartResponse>;
  readonly Delete: TaskMethod<shim.DeleteRequest, shim.DeleteResponse>;
  readonly Pids: TaskMethod<shim.PidsRequest, shim.PidsResponse>;
  readonly Pause: TaskMethod<shim.PauseRequest, Empty>;
  readonly Resume: TaskMethod<shim.ResumeRequest, Empty>;
  readonly Checkpoint: TaskMethod<shim.CheckpointTaskRequest, Empty>;
  readonly Kill: TaskMethod<shim.KillRequest, Empty>;
  readonly Exec: TaskMethod<shim.ExecProcessRequest, Empty>;
  readonly ResizePty: TaskMethod<shim.ResizePtyRequest, Empty>;
  readonly CloseIO: TaskMethod<shim.CloseIORequest, Empty>;
  readonly Update: TaskMethod<shim.UpdateTaskRequest, Empty>;
  readonly Wait: TaskMethod<shim.WaitRequest, shim.WaitResponse>;
  readonly Stats: TaskMethod<shim.StatsRequest, shim.StatsResponse>;
  readonly Connect: TaskMethod<shim.ConnectRequest, shim.ConnectResponse>;
  readonly Shutdown: TaskMethod<shim.ShutdownRequest, Empty>;
} = {
  State: [shim.StateRequest, shim.StateResponse],
  Create: [shim.CreateTaskRequest, shim.CreateTaskResponse],
  Start: [shim.StartRequest, shim.StartResponse],
  Delete: [shim.DeleteRequest, shim.DeleteResponse],
  Pids: [shim.PidsRequest, shim.PidsResponse],
  Pause: [shim.PauseRequest, Empty],
  Resume: [shim.ResumeRequest, Empty],
  Checkpoint: [shim.CheckpointTaskRequest, Empty],
  Kill: [shim.KillRequest, Empty],
  Exec: [shim.ExecProcessRequest, Empty],
  ResizePty: [shim.ResizePtyRequest, Empty],
  CloseIO: [shim.CloseIORequest, Empty],
  Update: [shim.UpdateTaskRequest, Empty],
  Wait: [shim.WaitRequest, shim.WaitResponse],
  Stats: [shim.StatsRequest, shim.StatsResponse],
  Connect: [shim.ConnectRequest, shim.ConnectResponse],
  Shutdown: [shim.ShutdownRequest, Empty],
};
