/**
 * The request context every store method takes first: the namespace, the lease and the cancellation
 * signal of one call. It is an immutable value passed explicitly (containerd keeps the same facts in a Go
 * `context.Context`); the `with…` helpers return modified copies.
 */
import { FailedPreconditionError, withContext } from "@containerts/errdefs";
import { validateIdentifier } from "./identifiers.js";

/**
 * Immutable request context passed first to every store method.
 *
 * `namespace` is the namespace the call works in (absent for calls that are not namespaced);
 * `leaseId` is the lease new resources are added to (containerd's `containerd-lease` header);
 * `signal` aborts the work when the caller goes away.
 */
export interface Context {
  readonly namespace?: string;
  readonly leaseId?: string;
  readonly signal: AbortSignal;
}

/** gRPC metadata key carrying the namespace of a call (the server reads the first value). */
export const NAMESPACE_HEADER = "containerd-namespace";

/** ttrpc request metadata key carrying the namespace of a call. */
export const NAMESPACE_TTRPC_HEADER = "containerd-namespace-ttrpc";

/** gRPC metadata key carrying the lease ID of a call. */
export const LEASE_HEADER = "containerd-lease";

/** The namespace clients use when none is chosen. */
export const DEFAULT_NAMESPACE = "default";

/** Environment variable clients (such as ctr) read the namespace from. */
export const NAMESPACE_ENV_VAR = "CONTAINERD_NAMESPACE";

/**
 * Creates a root context with no namespace and no lease. Without a `signal`, the context's signal never
 * aborts.
 */
export function background(signal?: AbortSignal): Context {
  return Object.freeze({ signal: signal ?? new AbortController().signal });
}

/** Returns a copy of `ctx` working in `namespace` (not validated here; see {@link namespaceRequired}). */
export function withNamespace(ctx: Context, namespace: string): Context {
  return Object.freeze({ ...ctx, namespace });
}

/**
 * Returns a copy of `ctx` carrying the lease `leaseId`, or carrying no lease when `leaseId` is undefined.
 * An empty string is kept as a lease ID, as containerd keeps an empty header value.
 */
export function withLease(ctx: Context, leaseId: string | undefined): Context {
  if (leaseId !== undefined) return Object.freeze({ ...ctx, leaseId });
  const { leaseId: _dropped, ...rest } = ctx;
  return Object.freeze(rest);
}

/** Returns a copy of `ctx` whose cancellation signal is `signal`. */
export function withSignal(ctx: Context, signal: AbortSignal): Context {
  return Object.freeze({ ...ctx, signal });
}

/**
 * Returns the namespace of `ctx`, checked the way containerd's `namespaces.NamespaceRequired` checks it.
 *
 * @throws FailedPreconditionError `namespace is required` when the namespace is missing or empty.
 * @throws InvalidArgumentError `namespace validation: identifier "x" must match …` (or another identifier
 *   message) when it is not a valid identifier.
 */
export function namespaceRequired(ctx: Context): string {
  const namespace = ctx.namespace;
  if (namespace === undefined || namespace === "") {
    throw new FailedPreconditionError("namespace is required");
  }
  try {
    validateIdentifier(namespace);
  } catch (err) {
    throw withContext(err, "namespace validation");
  }
  return namespace;
}
