/**
 * Temporary leases around client operations (containerd's `Client.WithLease`): everything a pull,
 * import or unpack creates is held by a lease while it runs, so an interrupted operation leaves only
 * garbage the collector can take, never half an image that nothing references and nothing protects.
 */
import { withLease as contextWithLease, type Context } from "@containerts/namespaces";
import { expirationLabels, generateLeaseId, type LeaseManager } from "@containerts/leases";

/** Options of {@link withLease}. */
export interface WithLeaseOptions {
  /**
   * How long the lease protects what it holds if it is never deleted (the process dies): it gets the
   * label `containerd.io/gc.expire` = now + this. Default 24 h, as containerd's client.
   */
  readonly expiresInMs?: number;
  /** Extra labels of the lease. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** What {@link withLease} needs of a client. */
export interface LeaseClient {
  readonly leases: LeaseManager;
}

/** The default lifetime of a temporary lease: 24 hours. */
export const DEFAULT_LEASE_EXPIRY_MS = 24 * 60 * 60 * 1000;

/**
 * Runs `fn` under a temporary lease: creates a lease (random id in containerd's format, labelled with
 * its expiry), calls `fn` with a context carrying it (`ctx.leaseId`, sent as `containerd-lease`), and
 * deletes the lease afterwards, whether `fn` succeeded or not. Deleting does not wait for a garbage
 * collection; what only the lease held becomes garbage.
 *
 * When `ctx` already carries a lease, `fn` runs under that one and nothing is created or deleted
 * (nested operations share the outer lease, as upstream).
 *
 * The lease is deleted with a context that is not cancelled by `ctx.signal`, so an aborted operation
 * still releases its lease.
 *
 * @throws what `leases.create` throws (nothing runs then), and what `fn` throws. A failure to delete
 *   the lease is thrown only when `fn` succeeded (otherwise `fn`'s error wins).
 */
export async function withLease<T>(client: LeaseClient, ctx: Context, fn: (ctx: Context) => Promise<T>, options: WithLeaseOptions = {}): Promise<T> {
  if (ctx.leaseId !== undefined && ctx.leaseId !== "") return fn(ctx);
  const labels = { ...options.labels, ...expirationLabels(options.expiresInMs ?? DEFAULT_LEASE_EXPIRY_MS) };
  const lease = await client.leases.create(ctx, { id: generateLeaseId(), labels });
  let result: T;
  try {
    result = await fn(contextWithLease(ctx, lease.id));
  } catch (err) {
    await client.leases.delete(detached(ctx), lease).catch(() => undefined);
    throw err;
  }
  await client.leases.delete(detached(ctx), lease);
  return result;
}

/** `ctx` without its lease and with a signal of its own (aborted only after 30 s), for cleanup. */
function detached(ctx: Context): Context {
  const { leaseId: _lease, ...rest } = ctx;
  return { ...rest, signal: AbortSignal.timeout(30_000) };
}
