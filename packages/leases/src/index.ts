/**
 * Leases: the domain types, the manager interface and the pure helpers of containerd's `leases`
 * package (`leases/lease.go`, `leases/id.go`). This root entry does no I/O; the metadata database
 * (`@containerts/metadata`) implements {@link LeaseManager}, and the gRPC adapter and proxy live
 * behind their own subpaths.
 *
 * A lease protects resources (content blobs, ingests, snapshots) from garbage collection until it is
 * deleted or expires (label {@link labelGcExpire}). A request carrying a lease id (`ctx.leaseId`, the
 * `containerd-lease` header on the wire) adds everything it creates to that lease.
 */
import type { Context } from "@containerts/namespaces";

/** Label on a lease: RFC3339 time after which the lease no longer protects anything (and is collected). */
export const labelGcExpire = "containerd.io/gc.expire";
/** Label on a lease: any value makes it "flat": its resources are kept but their references are not followed. */
export const labelGcFlat = "containerd.io/gc.flat";
/** Label on content or a snapshot: any value makes the object a garbage-collection root. */
export const labelGcRoot = "containerd.io/gc.root";
/**
 * Label key (and prefix) whose value is a content digest kept alive by the labelled object. Keys
 * `containerd.io/gc.ref.content`, `containerd.io/gc.ref.content.<x>` and `containerd.io/gc.ref.content/<x>`
 * all count.
 */
export const labelGcRefContent = "containerd.io/gc.ref.content";
/**
 * Label prefix `containerd.io/gc.ref.snapshot.<snapshotter>[/<x>]` whose value is a snapshot key kept
 * alive in that snapshotter.
 */
export const labelGcRefSnapshotPrefix = "containerd.io/gc.ref.snapshot.";

/** Resource type of a committed content blob; the resource id is its digest. */
export const resourceTypeContent = "content";
/** Resource type of a content ingest; the resource id is the ingest ref. */
export const resourceTypeIngests = "ingests";
/** Prefix of snapshot resource types, `snapshots/<snapshotter>`; the resource id is the snapshot key. */
export const resourceTypeSnapshotsPrefix = "snapshots/";

/** A lease (containerd's `leases.Lease`). */
export interface Lease {
  /** The lease id: any non-empty string (lease ids are not identifier-validated). */
  readonly id: string;
  /** When the lease was created (UTC). */
  readonly createdAt: Date;
  /** Labels; an empty object when there are none. */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A resource held by a lease (containerd's `leases.Resource`). `type` is `content` (id = digest),
 * `ingests` (id = ingest ref) or `snapshots/<snapshotter>` (id = snapshot key).
 */
export interface LeaseResource {
  readonly id: string;
  readonly type: string;
}

/** Options of {@link LeaseManager.create}. */
export interface CreateLeaseOptions {
  /** The id; a fresh one from {@link generateLeaseId} when absent or empty. */
  readonly id?: string;
  /** Labels stored as given (containerd 1.6 does not size-validate lease labels). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Options of {@link LeaseManager.delete}. */
export interface DeleteLeaseOptions {
  /** When true, a garbage collection runs (and finishes) before `delete` resolves. */
  readonly sync?: boolean;
}

/**
 * Creates, lists and removes leases and the resources they hold (containerd's `leases.Manager`).
 * All methods operate in the namespace of `ctx`.
 *
 * Error contract, for every method: FailedPreconditionError `namespace is required` when `ctx` has no
 * namespace, InvalidArgumentError when it is not a valid identifier.
 */
export interface LeaseManager {
  /**
   * Creates a lease with `createdAt` = now.
   * @throws AlreadyExistsError `lease "<id>"` when a lease with that id exists in the namespace.
   */
  create(ctx: Context, options?: CreateLeaseOptions): Promise<Lease>;
  /**
   * Deletes a lease; what only it protected becomes garbage.
   * @throws NotFoundError `lease "<id>"` when there is no such lease.
   */
  delete(ctx: Context, lease: Pick<Lease, "id">, options?: DeleteLeaseOptions): Promise<void>;
  /**
   * Leases matching any of `filters` (fields `id`, `labels.<key>`); none or `[""]` list all.
   * @throws InvalidArgumentError when a filter does not parse.
   */
  list(ctx: Context, filters?: readonly string[]): Promise<Lease[]>;
  /**
   * Adds a resource to a lease (idempotent).
   * @throws NotFoundError `lease "<id>"` when there is no such lease.
   * @throws InvalidArgumentError when a `content` id is not a digest, or the type is `snapshots`
   *   without a snapshotter (or has extra components).
   * @throws NotImplementedError `resource type <t> not supported yet` for any other type.
   */
  addResource(ctx: Context, lease: Pick<Lease, "id">, resource: LeaseResource): Promise<void>;
  /**
   * Removes a resource from a lease; removing one the lease does not hold succeeds.
   * @throws NotFoundError, InvalidArgumentError, NotImplementedError as {@link LeaseManager.addResource}.
   */
  deleteResource(ctx: Context, lease: Pick<Lease, "id">, resource: LeaseResource): Promise<void>;
  /**
   * The resources a lease holds: content first, then ingests, then snapshots by snapshotter.
   * @throws NotFoundError `lease "<id>"` when there is no such lease.
   */
  listResources(ctx: Context, lease: Pick<Lease, "id">): Promise<LeaseResource[]>;
}

/**
 * A fresh lease id in containerd's format `<nanoseconds-within-second>-<base64url(3 random bytes)>`,
 * for example `969002404-Uv38` (`leases.WithRandomID`).
 */
export function generateLeaseId(now: Date = new Date()): string {
  // JavaScript clocks stop at milliseconds; the sub-millisecond digits come from the monotonic clock.
  const subMs = Number(process.hrtime.bigint() % 1_000_000n);
  const nanos = (now.getTime() % 1000) * 1_000_000 + subMs;
  const random = new Uint8Array(3);
  crypto.getRandomValues(random);
  return `${nanos}-${Buffer.from(random).toString("base64url")}`;
}

/**
 * Formats a time the way Go's `time.RFC3339` does (second precision, `Z` for UTC), the format of
 * {@link labelGcExpire}.
 */
export function formatRfc3339(t: Date): string {
  return t.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Labels that make a lease expire `durationMs` after `now` (containerd's `leases.WithExpiration`).
 */
export function expirationLabels(durationMs: number, now: Date = new Date()): Record<string, string> {
  return { [labelGcExpire]: formatRfc3339(new Date(now.getTime() + durationMs)) };
}

/**
 * Parses the value of {@link labelGcExpire} (RFC3339, optional fraction and offset). Returns undefined
 * when it is not a valid time; containerd then ignores the label and keeps the lease.
 */
export function parseExpiration(value: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(value);
  if (m === null) return undefined;
  const t = Date.parse(value.toUpperCase());
  return Number.isNaN(t) ? undefined : new Date(t);
}
