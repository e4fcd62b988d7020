/**
 * The namespace store over gRPC (`containerd.services.namespaces.v1.Namespaces`).
 * @module
 */
import type { ChannelCredentials, ClientOptions } from "@grpc/grpc-js";
import { NamespacesClient } from "@containerts/api/services/namespaces/v1";
import type { Context } from "../context.js";
import type { Namespace, NamespaceStore } from "../store.js";
import { callUnary } from "../grpc/call.js";

/** Where a proxy connects: address, credentials and client options (for a shared channel). */
export interface ProxyTarget {
  readonly address: string;
  readonly credentials: ChannelCredentials;
  readonly options: Partial<ClientOptions>;
}

/** {@link NamespaceStore} implemented over the daemon's Namespaces service. */
export class ProxyNamespaceStore implements NamespaceStore {
  readonly #c: NamespacesClient;
  constructor(target: ProxyTarget) {
    this.#c = new NamespacesClient(target.address, target.credentials, target.options);
  }

  async create(ctx: Context, name: string, labels: Readonly<Record<string, string>> = {}): Promise<Namespace> {
    const res = await callUnary(this.#c.create.bind(this.#c), { namespace: { name, labels: { ...labels } } }, ctx);
    return { name: res.namespace?.name ?? name, labels: res.namespace?.labels ?? {} };
  }

  async get(ctx: Context, name: string): Promise<Namespace> {
    const res = await callUnary(this.#c.get.bind(this.#c), { name }, ctx);
    return { name: res.namespace?.name ?? name, labels: res.namespace?.labels ?? {} };
  }

  async list(ctx: Context): Promise<Namespace[]> {
    const res = await callUnary(this.#c.list.bind(this.#c), { filter: "" }, ctx);
    return res.namespaces.map((n) => ({ name: n.name, labels: n.labels }));
  }

  async update(ctx: Context, namespace: Namespace, fieldpaths?: readonly string[]): Promise<Namespace> {
    await callUnary(
      this.#c.update.bind(this.#c),
      { namespace: { name: namespace.name, labels: { ...namespace.labels } }, updateMask: fieldpaths ? [...fieldpaths] : undefined },
      ctx,
    );
    return this.get(ctx, namespace.name);
  }

  async delete(ctx: Context, name: string): Promise<void> {
    await callUnary(this.#c.delete.bind(this.#c), { name }, ctx);
  }

  close(): void {
    this.#c.close();
  }
}
