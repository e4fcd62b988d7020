/**
 * The mapping between containerts errors and gRPC status, both directions, as containerd's
 * `errdefs.ToGRPC` / `errdefs.FromGRPC` do it.
 */
import { Metadata, status as Status, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { type ErrorKind, type ContainertsError, errorOfKind, kindPhrase, normalize } from "./errors.js";

const toCode: Readonly<Record<ErrorKind, Status>> = {
  InvalidArgument: Status.INVALID_ARGUMENT,
  NotFound: Status.NOT_FOUND,
  AlreadyExists: Status.ALREADY_EXISTS,
  FailedPrecondition: Status.FAILED_PRECONDITION,
  Conflict: Status.FAILED_PRECONDITION,
  NotModified: Status.FAILED_PRECONDITION,
  Aborted: Status.ABORTED,
  OutOfRange: Status.OUT_OF_RANGE,
  NotImplemented: Status.UNIMPLEMENTED,
  Unavailable: Status.UNAVAILABLE,
  Internal: Status.INTERNAL,
  Unknown: Status.UNKNOWN,
  Canceled: Status.CANCELLED,
  DeadlineExceeded: Status.DEADLINE_EXCEEDED,
  PermissionDenied: Status.PERMISSION_DENIED,
  ResourceExhausted: Status.RESOURCE_EXHAUSTED,
  DataLoss: Status.DATA_LOSS,
  Unauthenticated: Status.UNAUTHENTICATED,
};

const fromCode: ReadonlyMap<number, ErrorKind> = new Map<number, ErrorKind>([
  [Status.INVALID_ARGUMENT, "InvalidArgument"],
  [Status.NOT_FOUND, "NotFound"],
  [Status.ALREADY_EXISTS, "AlreadyExists"],
  [Status.FAILED_PRECONDITION, "FailedPrecondition"],
  [Status.ABORTED, "Aborted"],
  [Status.OUT_OF_RANGE, "OutOfRange"],
  [Status.UNIMPLEMENTED, "NotImplemented"],
  [Status.UNAVAILABLE, "Unavailable"],
  [Status.INTERNAL, "Internal"],
  [Status.UNKNOWN, "Unknown"],
  [Status.CANCELLED, "Canceled"],
  [Status.DEADLINE_EXCEEDED, "DeadlineExceeded"],
  [Status.PERMISSION_DENIED, "PermissionDenied"],
  [Status.RESOURCE_EXHAUSTED, "ResourceExhausted"],
  [Status.DATA_LOSS, "DataLoss"],
  [Status.UNAUTHENTICATED, "Unauthenticated"],
]);

/** The gRPC status code of an error kind. */
export function grpcCodeOf(kind: ErrorKind): Status {
  return toCode[kind];
}

/** Converts any thrown value into the gRPC status object a server handler returns. */
export function toGrpcStatus(err: unknown): Partial<StatusObject> & { code: Status; details: string } {
  const e = normalize(err);
  return { code: toCode[e.kind], details: e.message, metadata: new Metadata() };
}

/**
 * Converts an error received from a gRPC call into a containerts error of the matching kind.
 * The message is kept as the server sent it (it already ends with the kind's phrase when the server
 * follows containerd's convention).
 */
export function fromGrpcError(err: unknown): ContainertsError {
  const e = err as Partial<ServiceError> | undefined;
  if (e && typeof e.code === "number") {
    const kind = fromCode.get(e.code) ?? "Unknown";
    const message = typeof e.details === "string" && e.details !== "" ? e.details : kindPhrase[kind];
    return errorOfKind(kind, message, { cause: err, bare: true });
  }
  return normalize(err);
}
