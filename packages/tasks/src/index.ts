/**
 * `@containerts/tasks`: the domain types of tasks, the {@link TaskService} interface with containerd's
 * error contract, and the runtime interfaces it runs on. No I/O. The runtime v2 shim manager lives in
 * `./runtime`, the service in `./local`, the gRPC adapter in `./grpc`, the clients in `./proxy`, the plugin
 * registrations in `./plugin`.
 *
 * @packageDocumentation
 */
export {
  type AnyValue,
  type TaskStatus,
  type Mount,
  type TaskIO,
  type Exit,
  type ProcessState,
  type ProcessInfo,
  type Metric,
  type Descriptor,
  type CreateTaskRequest,
  type CreatedTask,
  type ProcessRef,
  type KillRequest,
  type ExecRequest,
  type ResizePtyRequest,
  type CloseIORequest,
  type UpdateTaskRequest,
  type DeletedProcess,
  type TaskService,
  UNKNOWN_EXIT_STATUS,
  ZERO_TIME,
} from "./task.js";
export {
  type RuntimeState,
  type RuntimeCallOptions,
  type RuntimeProcess,
  type RuntimeExecProcess,
  type RuntimeExecOptions,
  type RuntimeTask,
  type RuntimeCreateOptions,
  type PlatformRuntime,
} from "./runtime-types.js";
export { shimBinaryName, shimSocketPath } from "./naming.js";
