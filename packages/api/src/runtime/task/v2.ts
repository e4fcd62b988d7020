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
