/**
 * containerd's error kinds (github.com/containerd/errdefs) as TypeScript classes.
 *
 * Each kind has one subclass. Messages read as a chain, like upstream: the context comes first and the
 * kind's phrase last (`content digest sha256:…: not found`), because the Go client strips a trailing
 * `: <phrase>` when it rebuilds the error class from a gRPC status.
 *
 * Guards read a brand (`Symbol.for("containerts.errdefs.kind")`) rather than using `instanceof`, so they
 * keep working when two copies of this package end up in one process.
 */

/** The error kinds: one per containerd errdefs class, plus the remaining gRPC codes. */
export type ErrorKind =
  | "InvalidArgument"
  | "NotFound"
  | "AlreadyExists"
  | "FailedPrecondition"
  | "Conflict"
  | "NotModified"
  | "Aborted"
  | "OutOfRange"
  | "NotImplemented"
  | "Unavailable"
  | "Internal"
  | "Unknown"
  | "Canceled"
  | "DeadlineExceeded"
  | "PermissionDenied"
  | "ResourceExhausted"
  | "DataLoss"
  | "Unauthenticated";

/** The phrase each kind appends to its message, as containerd's errdefs do. */
export const kindPhrase: Readonly<Record<ErrorKind, string>> = {
  InvalidArgument: "invalid argument",
  NotFound: "not found",
  AlreadyExists: "already exists",
  FailedPrecondition: "failed precondition",
  Conflict: "conflict",
  NotModified: "not modified",
  Aborted: "aborted",
  OutOfRange: "out of range",
  NotImplemented: "not implemented",
  Unavailable: "unavailable",
  Internal: "internal",
  Unknown: "unknown",
  Canceled: "context canceled",
  DeadlineExceeded: "context deadline exceeded",
  PermissionDenied: "permission denied",
  ResourceExhausted: "resource exhausted",
  DataLoss: "data loss",
  Unauthenticated: "unauthenticated",
};

const KIND = Symbol.for("containerts.errdefs.kind");

/** Options accepted by every error constructor. */
export interface ErrorOptions {
  /** The underlying error, kept as `cause`. */
  readonly cause?: unknown;
  /**
   * When true the message is the context alone, without the kind's phrase appended.
   * Used when a message already carries its own wording (for example one received over the wire).
   */
  readonly bare?: boolean;
}

/** Base class of every containerts error; `kind` says which containerd error class it is. */
export abstract class ContainertsError extends Error {
  abstract readonly kind: ErrorKind;

  constructor(context: string, phrase: string, options: ErrorOptions = {}) {
    const message = options.bare || context === "" ? context || phrase : `${context}: ${phrase}`;
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }

  /** The brand read by the guards. */
  get [KIND](): ErrorKind {
    return this.kind;
  }
}

function defineKind<K extends ErrorKind>(kind: K) {
  const phrase = kindPhrase[kind];
  return class extends ContainertsError {
    readonly kind: K = kind;
    constructor(context = "", options: ErrorOptions = {}) {
      super(context, phrase, options);
      this.name = `${kind}Error`;
    }
  };
}

/** A request argument is malformed or out of the accepted range (gRPC INVALID_ARGUMENT). */
export class InvalidArgumentError extends defineKind("InvalidArgument") {}
/** The named object does not exist (gRPC NOT_FOUND). */
export class NotFoundError extends defineKind("NotFound") {}
/** The object to create exists already (gRPC ALREADY_EXISTS). */
export class AlreadyExistsError extends defineKind("AlreadyExists") {}
/** The system is not in the state the operation requires (gRPC FAILED_PRECONDITION). */
export class FailedPreconditionError extends defineKind("FailedPrecondition") {}
/** A conflicting change won (mapped to FAILED_PRECONDITION on the wire, like containerd). */
export class ConflictError extends defineKind("Conflict") {}
/** Nothing changed (mapped to FAILED_PRECONDITION on the wire, like containerd). */
export class NotModifiedError extends defineKind("NotModified") {}
/** The operation was aborted (gRPC ABORTED). */
export class AbortedError extends defineKind("Aborted") {}
/** An offset or size lies outside the object (gRPC OUT_OF_RANGE). */
export class OutOfRangeError extends defineKind("OutOfRange") {}
/** The operation is not implemented (gRPC UNIMPLEMENTED). */
export class NotImplementedError extends defineKind("NotImplemented") {}
/** The resource is busy or unreachable; retrying may help (gRPC UNAVAILABLE). */
export class UnavailableError extends defineKind("Unavailable") {}
/** An invariant broke inside the server (gRPC INTERNAL). */
export class InternalError extends defineKind("Internal") {}
/** An error of no known kind (gRPC UNKNOWN). */
export class UnknownError extends defineKind("Unknown") {}
/** The caller cancelled the operation (gRPC CANCELLED). */
export class CanceledError extends defineKind("Canceled") {}
/** The caller's deadline passed (gRPC DEADLINE_EXCEEDED). */
export class DeadlineExceededError extends defineKind("DeadlineExceeded") {}
/** The caller may not do this (gRPC PERMISSION_DENIED). */
export class PermissionDeniedError extends defineKind("PermissionDenied") {}
/** A quota or size limit was hit (gRPC RESOURCE_EXHAUSTED). */
export class ResourceExhaustedError extends defineKind("ResourceExhausted") {}
/** Stored data is lost or corrupt (gRPC DATA_LOSS). */
export class DataLossError extends defineKind("DataLoss") {}
/** The caller is not authenticated (gRPC UNAUTHENTICATED). */
export class UnauthenticatedError extends defineKind("Unauthenticated") {}

const classes: Readonly<Record<ErrorKind, new (context?: string, options?: ErrorOptions) => ContainertsError>> = {
  InvalidArgument: InvalidArgumentError,
  NotFound: NotFoundError,
  AlreadyExists: AlreadyExistsError,
  FailedPrecondition: FailedPreconditionError,
  Conflict: ConflictError,
  NotModified: NotModifiedError,
  Aborted: AbortedError,
  OutOfRange: OutOfRangeError,
  NotImplemented: NotImplementedError,
  Unavailable: UnavailableError,
  Internal: InternalError,
  Unknown: UnknownError,
  Canceled: CanceledError,
  DeadlineExceeded: DeadlineExceededError,
  PermissionDenied: PermissionDeniedError,
  ResourceExhausted: ResourceExhaustedError,
  DataLoss: DataLossError,
  Unauthenticated: UnauthenticatedError,
};

/** Creates an error of the given kind. */
export function errorOfKind(kind: ErrorKind, context: string, options: ErrorOptions = {}): ContainertsError {
  return new classes[kind](context, options);
}

/** The kind of any value: the brand of a containerts error, else undefined. */
export function kindOf(err: unknown): ErrorKind | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const k = (err as { [KIND]?: unknown })[KIND];
  return typeof k === "string" && k in kindPhrase ? (k as ErrorKind) : undefined;
}

const guard =
  <K extends ErrorKind>(kind: K) =>
  (err: unknown): err is ContainertsError & { kind: K } =>
    kindOf(err) === kind;

/** True for a NotFound error. */
export const isNotFound = guard("NotFound");
/** True for an AlreadyExists error. */
export const isAlreadyExists = guard("AlreadyExists");
/** True for an InvalidArgument error. */
export const isInvalidArgument = guard("InvalidArgument");
/** True for a FailedPrecondition error. */
export const isFailedPrecondition = guard("FailedPrecondition");
/** True for an Unavailable error. */
export const isUnavailable = guard("Unavailable");
/** True for a NotImplemented error. */
export const isNotImplemented = guard("NotImplemented");
/** True for a Canceled error. */
export const isCanceled = guard("Canceled");
/** True for a DeadlineExceeded error. */
export const isDeadlineExceeded = guard("DeadlineExceeded");
/** True for a Conflict error. */
export const isConflict = guard("Conflict");
/** True for an OutOfRange error. */
export const isOutOfRange = guard("OutOfRange");

/**
 * Prefixes an error's message with `context: ` and keeps its kind and cause.
 * A value that is not a containerts error is first normalized.
 */
export function withContext(err: unknown, context: string): ContainertsError {
  const e = normalize(err);
  return errorOfKind(e.kind, `${context}: ${e.message}`, { cause: e.cause ?? e, bare: true });
}

/**
 * Turns any thrown value into a containerts error: containerts errors pass through, an `AbortError`
 * becomes Canceled, a `TimeoutError` DeadlineExceeded, Node's ENOENT NotFound, EEXIST AlreadyExists,
 * and anything else Unknown (keeping the original as cause).
 */
export function normalize(err: unknown): ContainertsError {
  if (kindOf(err) !== undefined) return err as ContainertsError;
  if (err instanceof Error || (typeof err === "object" && err !== null)) {
    const e = err as { name?: string; message?: string; code?: string };
    const message = e.message ?? String(err);
    if (e.name === "AbortError") return new CanceledError("", { cause: err });
    if (e.name === "TimeoutError") return new DeadlineExceededError("", { cause: err });
    if (e.code === "ENOENT") return new NotFoundError(message, { cause: err, bare: true });
    if (e.code === "EEXIST") return new AlreadyExistsError(message, { cause: err, bare: true });
    return new UnknownError(message, { cause: err, bare: true });
  }
  return new UnknownError(String(err), { bare: true });
}
