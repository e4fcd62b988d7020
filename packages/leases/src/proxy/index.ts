/**
 * `@containerts/leases/proxy`: the lease manager over gRPC (`containerd.services.leases.v1.Leases`),
 * for clients of containertsd or containerd (containerd's `leases/proxy`).
 * @module
 */
import { LeasesClient } from "@containerts/api/services/leases/v1";
import { UnknownError } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { callUnary } from "@containerts/namespaces/grpc";
import type { ChannelCredentials, ClientOptions } from "@grpc/grpc-js";

import { leaseFromProto, resourceFromProto, resourceToProto } from "../grpc/convert.js";
import type { CreateLeaseOptions, DeleteLeaseOptions, Lease, LeaseManager, LeaseResource } from "../index.js";

/** Where a proxy connects: the address, credentials and client options (`channelOverride` shares a channel). */
export interface ProxyTarget {
  readonly address: string;
  readonly credentials: ChannelCredentials;
  readonly options: Partial<ClientOptions>;
}

/**
 * A {@link LeaseManager} over the daemon's Leases service. An absent or empty id in `create` lets the
 * server generate one; `delete` with `sync` returns after the server's garbage collection.
 */
export class ProxyLeaseManager implements LeaseManager {
  readonly #c: LeasesClient;

  constructor(target: ProxyTarget) {
    this.#c = new LeasesClient(target.address, target.credentials, target.options);
  }

  async create(ctx: Context, options: CreateLeaseOptions = {}): Promise<Lease> {
    const res = await callUnary(this.#c.create.bind(this.#c), { id: options.id ?? "", labels: { ...(options.labels ?? {}) } }, ctx);
    if (res.lease === undefined) throw new UnknownError("create lease: response without lease", { bare: true });
    return leaseFromProto(res.lease);
  }

  async delete(ctx: Context, lease: Pick<Lease, "id">, options: DeleteLeaseOptions = {}): Promise<void> {
    await callUnary(this.#c.delete.bind(this.#c), { id: lease.id, sync: options.sync === true }, ctx);
  }

  async list(ctx: Context, filters: readonly string[] = []): Promise<Lease[]> {
    const res = await callUnary(this.#c.list.bind(this.#c), { filters: [...filters] }, ctx);
    return res.leases.map(leaseFromProto);
  }

  async addResource(ctx: Context, lease: Pick<Lease, "id">, resource: LeaseResource): Promise<void> {
    await callUnary(this.#c.addResource.bind(this.#c), { id: lease.id, resource: resourceToProto(resource) }, ctx);
  }

  async deleteResource(ctx: Context, lease: Pick<Lease, "id">, resource: LeaseResource): Promise<void> {
    await callUnary(this.#c.deleteResource.bind(this.#c), { id: lease.id, resource: resourceToProto(resource) }, ctx);
  }

  async listResources(ctx: Context, lease: Pick<Lease, "id">): Promise<LeaseResource[]> {
    const res = await callUnary(this.#c.listResources.bind(this.#c), { id: lease.id }, ctx);
    return res.resources.map(resourceFromProto);
  }

  /** Closes the client (a shared channel given through `channelOverride` stays open). */
  close(): void {
    this.#c.close();
  }
}
