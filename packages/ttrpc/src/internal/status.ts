/**
 * Conversions between thrown errors and the `google.rpc.Status` carried in ttrpc responses, through
 * the errdefs gRPC mapping (the same table containerd's `errdefs.ToGRPC`/`FromGRPC` use).
 */
import {
  type ContainertsError,
  PermissionDeniedError,
  UnavailableError,
  kindOf,
} from "@containerts/errdefs";
import { fromGrpcError, toGrpcStatus } from "@containerts/errdefs/grpc";
import type { StatusMessage } from "./messages.js";

/** The text of ttrpc's `ErrClosed`; every error for a lost connection contains it. */
export const CLOSED_MESSAGE = "ttrpc: closed";

/** The error pending and later calls fail with once a client's connection is gone. */
export function closedError(cause?: unknown): UnavailableError {
  return new UnavailableError(CLOSED_MESSAGE, cause === undefined ? {} : { cause });
}

/** Turns a non-OK status received from a server into the errdefs error of its code. */
export function statusToError(status: StatusMessage): ContainertsError {
  return fromGrpcError({ code: status.code, details: status.message });
}

/**
 * Turns anything a handler threw into the status sent back. errdefs errors keep their kind; Node's
 * ENOENT/EEXIST become NotFound/AlreadyExists (errdefs `normalize`), and EACCES/EPERM become
 * PermissionDenied as ttrpc's `convertCode` does for `os.ErrPermission`.
 */
export function errorToStatus(err: unknown): StatusMessage {
  let e = err;
  if (kindOf(e) === undefined && typeof e === "object" && e !== null) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (code === "EACCES" || code === "EPERM") {
      e = new PermissionDeniedError(typeof message === "string" ? message : String(code), { cause: e, bare: true });
    }
  }
  const st = toGrpcStatus(e);
  return { code: st.code, message: st.details };
}
