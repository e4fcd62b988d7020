/**
 * The container store over gRPC (`containerd.services.containers.v1.Containers`), for clients.
 * @module
 */
import type { ChannelCredentials, ClientOptions } from "@grpc/grpc-js";
import { ContainersClient } from "@containerts/api/services/containers/v1";
import { UnknownError, isNotImplemented } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { callStream, callUnary } from "@containerts/namespaces/grpc";
import type { Container, ContainerInput, ContainerStore } from "../container.js";
import { containerFromProto, containerInputToProto } from "../grpc/convert.js";

/** Where a proxy connects: address, credentials and client options (e.g. a shared `channelOverride`). */
export interface ProxyTarget {
  readonly address: string;
  readonly credentials: ChannelCredentials;
  readonly options: Partial<ClientOptions>;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new UnknownError(`containers ${what}: response carries no container`);
  return value;
}

/**
 * {@link ContainerStore} over the daemon's Containers service (containerd's `remoteContainers`). `list`
 * uses ListStream and falls back to List when the server answers Unimplemented. Errors are the server's,
 * mapped back to their kinds.
 */
export class ProxyContainerStore implements ContainerStore {
  readonly #c: ContainersClient;

  constructor(target: ProxyTarget) {
    this.#c = new ContainersClient(target.address, target.credentials, target.options);
  }

  async get(ctx: Context, id: string): Promise<Container> {
    const res = await callUnary(this.#c.get.bind(this.#c), { id }, ctx);
    return containerFromProto(required(res.container, "get"));
  }

  async list(ctx: Context, filters: readonly string[] = []): Promise<Container[]> {
    const out: Container[] = [];
    try {
      for await (const msg of callStream(this.#c.listStream.bind(this.#c), { filters: [...filters] }, ctx)) {
        out.push(containerFromProto(required(msg.container, "list stream")));
      }
      return out;
    } catch (err) {
      if (!isNotImplemented(err) || out.length > 0) throw err;
    }
    const res = await callUnary(this.#c.list.bind(this.#c), { filters: [...filters] }, ctx);
    return res.containers.map(containerFromProto);
  }

  async create(ctx: Context, container: ContainerInput): Promise<Container> {
    const res = await callUnary(this.#c.create.bind(this.#c), { container: containerInputToProto(container) }, ctx);
    return containerFromProto(required(res.container, "create"));
  }

  async update(ctx: Context, container: ContainerInput, fieldpaths: readonly string[] = []): Promise<Container> {
    const res = await callUnary(
      this.#c.update.bind(this.#c),
      { container: containerInputToProto(container), updateMask: fieldpaths.length > 0 ? [...fieldpaths] : undefined },
      ctx,
    );
    return containerFromProto(required(res.container, "update"));
  }

  async delete(ctx: Context, id: string): Promise<void> {
    await callUnary(this.#c.delete.bind(this.#c), { id }, ctx);
  }

  /** Closes the gRPC client (a shared channel given through `options.channelOverride` stays open). */
  close(): void {
    this.#c.close();
  }
}
