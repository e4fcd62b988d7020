/**
 * Leases in the metadata database (containerd's `metadata/leases.go`): the lease manager, and the
 * helpers every store uses to add what it creates under `ctx.leaseId` to that lease.
 */
import { parseDigest } from "@containerts/content";
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, NotImplementedError, withContext } from "@containerts/errdefs";
import {
  type CreateLeaseOptions,
  type DeleteLeaseOptions,
  type Lease,
  type LeaseManager,
  type LeaseResource,
  generateLeaseId,
  resourceTypeContent,
  resourceTypeIngests,
  resourceTypeSnapshotsPrefix,
} from "@containerts/leases";
import { type Context, adaptFields, namespaceRequired, parseFilters } from "@containerts/namespaces";

import type { DB } from "./db.js";
import { keys, suffix, under } from "./schema.js";
import type { ReadTx, WriteTx } from "./tx.js";

/** A stored lease. */
export interface LeaseRecord {
  readonly createdAt: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The key path of a lease resource below the lease: `["content", digest]`, `["ingests", ref]` or
 * `["snapshots", snapshotter, key]`.
 */
export type LeaseResourcePath = readonly [string, ...string[]];

/**
 * Validates a lease resource and returns its key path (containerd's `parseLeaseResource`).
 * @throws InvalidArgumentError for a `content` id that is not a digest, `snapshots` without a
 *   snapshotter, or extra type components.
 * @throws NotImplementedError `resource type <t> not supported yet` for any other type.
 */
export function leaseResourcePath(r: LeaseResource): LeaseResourcePath {
  const parts = r.type.split("/");
  const head = parts[0];
  if (head === resourceTypeContent || head === resourceTypeIngests) {
    if (parts.length !== 1) throw new InvalidArgumentError(`invalid resource type ${r.type}`);
    if (head === resourceTypeContent) {
      try {
        parseDigest(r.id);
      } catch (err) {
        throw withContext(err, `invalid content resource id ${r.id}`);
      }
    }
    return [head, r.id];
  }
  if (head === resourceTypeSnapshotsPrefix.slice(0, -1)) {
    if (parts.length !== 2 || parts[1] === "") throw new InvalidArgumentError(`invalid snapshot resource type ${r.type}`);
    return ["snapshots", parts[1]!, r.id];
  }
  throw new NotImplementedError(`resource type ${r.type} not supported yet`);
}

/**
 * Adds a resource to the lease of `ctx` (if it carries one). Resolves to true when a lease holds it.
 * @throws NotFoundError `lease does not exist` when `ctx.leaseId` names no lease in `ns`.
 */
export async function addLeaseResource(tx: WriteTx, ctx: Context, ns: string, path: LeaseResourcePath): Promise<boolean> {
  const id = ctx.leaseId;
  if (id === undefined) return false;
  if ((await tx.get(keys.lease(ns, id))) === undefined) throw new NotFoundError("lease does not exist");
  tx.put(keys.leaseResource(ns, id, ...path), "");
  return true;
}

/** Removes a resource from the lease of `ctx` (if it carries one that exists). */
export async function removeLeaseResource(tx: WriteTx, ctx: Context, ns: string, path: LeaseResourcePath): Promise<void> {
  const id = ctx.leaseId;
  if (id === undefined) return;
  const k = keys.leaseResource(ns, id, ...path);
  if ((await tx.get(k)) !== undefined) tx.del(k);
}

function toLease(id: string, r: LeaseRecord): Lease {
  return { id, createdAt: new Date(r.createdAt), labels: { ...r.labels } };
}

async function requireLease(tx: ReadTx, ns: string, id: string): Promise<LeaseRecord> {
  const record = await tx.getJson<LeaseRecord>(keys.lease(ns, id));
  if (record === undefined) throw new NotFoundError(`lease ${JSON.stringify(id)}`);
  return record;
}

/**
 * The lease manager of the metadata database (obtain it with `db.leaseManager()`).
 * Deleting a lease marks the database dirty; `delete(…, { sync: true })` waits for a collection.
 */
export class MetadataLeaseManager implements LeaseManager {
  readonly #db: DB;

  /** Use `db.leaseManager()` rather than constructing one. */
  constructor(db: DB) {
    this.#db = db;
  }

  async create(ctx: Context, options: CreateLeaseOptions = {}): Promise<Lease> {
    const ns = namespaceRequired(ctx);
    const id = options.id === undefined || options.id === "" ? generateLeaseId() : options.id;
    const record: LeaseRecord = { createdAt: new Date().toISOString(), labels: { ...(options.labels ?? {}) } };
    await this.#db.update(async (tx) => {
      const k = keys.lease(ns, id);
      if ((await tx.get(k)) !== undefined) throw new AlreadyExistsError(`lease ${JSON.stringify(id)}`);
      await tx.ensureNamespace(ns);
      tx.putJson(k, record);
    });
    return toLease(id, record);
  }

  async delete(ctx: Context, lease: Pick<Lease, "id">, options: DeleteLeaseOptions = {}): Promise<void> {
    const ns = namespaceRequired(ctx);
    await this.#db.update(async (tx) => {
      await requireLease(tx, ns, lease.id);
      tx.del(keys.lease(ns, lease.id));
      await tx.delRange(under(...keys.leaseResources(ns, lease.id)));
      tx.markDirty("metadata");
    });
    if (options.sync === true) await this.#db.collectAndWait(ctx.signal);
  }

  async list(ctx: Context, filters: readonly string[] = []): Promise<Lease[]> {
    const ns = namespaceRequired(ctx);
    const filter = parseFilters(filters);
    return this.#db.view(async (tx) => {
      const out: Lease[] = [];
      const tuple = keys.leases(ns);
      for await (const [k, v] of tx.entries(under(...tuple))) {
        const lease = toLease(suffix(k, tuple)[0]!, JSON.parse(v) as LeaseRecord);
        if (filter.match(adaptFields({ id: lease.id }, { labels: lease.labels }))) out.push(lease);
      }
      return out;
    });
  }

  async addResource(ctx: Context, lease: Pick<Lease, "id">, resource: LeaseResource): Promise<void> {
    const ns = namespaceRequired(ctx);
    await this.#db.update(async (tx) => {
      await requireLease(tx, ns, lease.id);
      tx.put(keys.leaseResource(ns, lease.id, ...leaseResourcePath(resource)), "");
    });
  }

  async deleteResource(ctx: Context, lease: Pick<Lease, "id">, resource: LeaseResource): Promise<void> {
    const ns = namespaceRequired(ctx);
    await this.#db.update(async (tx) => {
      await requireLease(tx, ns, lease.id);
      const k = keys.leaseResource(ns, lease.id, ...leaseResourcePath(resource));
      if ((await tx.get(k)) !== undefined) {
        tx.del(k);
        tx.markDirty("metadata");
      }
    });
  }

  async listResources(ctx: Context, lease: Pick<Lease, "id">): Promise<LeaseResource[]> {
    const ns = namespaceRequired(ctx);
    return this.#db.view(async (tx) => {
      await requireLease(tx, ns, lease.id);
      const tuple = keys.leaseResources(ns, lease.id);
      const content: LeaseResource[] = [];
      const ingests: LeaseResource[] = [];
      const snapshots: LeaseResource[] = [];
      for await (const [k] of tx.entries(under(...tuple))) {
        const [type, a, b] = suffix(k, tuple);
        if (type === "content") content.push({ id: a!, type: resourceTypeContent });
        else if (type === "ingests") ingests.push({ id: a!, type: resourceTypeIngests });
        else if (type === "snapshots") snapshots.push({ id: b!, type: `${resourceTypeSnapshotsPrefix}${a}` });
      }
      return [...content, ...ingests, ...snapshots];
    });
  }
}
