/**
 * containerd's tasks service (`containerd.services.tasks.v1.Tasks`): running containers.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  CheckpointTaskRequest,
  CheckpointTaskResponse,
  CloseIORequest,
  CreateTaskRequest,
  CreateTaskResponse,
  DeleteProcessRequest,
  DeleteResponse,
  DeleteTaskRequest,
  ExecProcessRequest,
  ExecProcessResponse,
  GetRequest,
  GetResponse,
  KillRequest,
  ListPidsRequest,
  ListPidsResponse,
  ListTasksRequest,
  ListTasksResponse,
  MetricsRequest,
  MetricsResponse,
  PauseTaskRequest,
  ResizePtyRequest,
  ResumeTaskRequest,
  StartRequest,
  StartResponse,
  TasksClient,
  TasksService,
  UpdateTaskRequest,
  WaitRequest,
  WaitResponse,
} from "../../gen/containerd/services/tasks/v1/tasks.js";
export type {
  TasksServer,
} from "../../gen/containerd/services/tasks/v1/tasks.js";
