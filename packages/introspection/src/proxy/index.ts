/**
 * Client side of introspection, version and health, over a grpc-js channel.
 * @module
 */
import type { ChannelCredentials, ClientOptions } from "@grpc/grpc-js";
import { IntrospectionClient } from "@containerts/api/services/introspection/v1";
import { VersionClient } from "@containerts/api/services/version/v1";
import { HealthClient, HealthCheckResponse_ServingStatus } from "@containerts/api/health/v1";
import { callUnary } from "@containerts/namespaces/grpc";
import type { Context } from "@containerts/namespaces";
import type { IntrospectionService, PluginInfo, ServerInfo, VersionInfo, VersionService } from "../index.js";

/** How a proxy reaches the daemon: an address plus credentials and client options (a shared channel). */
export interface ProxyTarget {
  readonly address: string;
  readonly credentials: ChannelCredentials;
  readonly options: Partial<ClientOptions>;
}

/** The introspection service over gRPC. */
export class ProxyIntrospection implements IntrospectionService {
  readonly #client: IntrospectionClient;
  constructor(target: ProxyTarget) {
    this.#client = new IntrospectionClient(target.address, target.credentials, target.options);
  }

  async plugins(ctx: Context, filters: readonly string[] = []): Promise<PluginInfo[]> {
    const res = await callUnary(this.#client.plugins.bind(this.#client), { filters: [...filters] }, ctx);
    return res.plugins.map((p) => ({
      type: p.type,
      id: p.id,
      requires: p.requires,
      platforms: p.platforms.map((x) => ({ os: x.os, architecture: x.architecture, ...(x.variant ? { variant: x.variant } : {}) })),
      exports: p.exports,
      capabilities: p.capabilities,
      ...(p.initErr ? { initError: { code: p.initErr.code, message: p.initErr.message } } : {}),
    }));
  }

  async server(ctx: Context): Promise<ServerInfo> {
    const res = await callUnary(this.#client.server.bind(this.#client), {}, ctx);
    return { uuid: res.uuid };
  }

  close(): void {
    this.#client.close();
  }
}

/** The version service over gRPC. */
export class ProxyVersion implements VersionService {
  readonly #client: VersionClient;
  constructor(target: ProxyTarget) {
    this.#client = new VersionClient(target.address, target.credentials, target.options);
  }

  async version(ctx: Context): Promise<VersionInfo> {
    const res = await callUnary(this.#client.version.bind(this.#client), {}, ctx);
    return { version: res.version, revision: res.revision };
  }

  close(): void {
    this.#client.close();
  }
}

/** gRPC health checking: true when the daemon reports SERVING for `service` ("" = the whole server). */
export class ProxyHealth {
  readonly #client: HealthClient;
  constructor(target: ProxyTarget) {
    this.#client = new HealthClient(target.address, target.credentials, target.options);
  }

  async isServing(ctx: Context, service = ""): Promise<boolean> {
    const res = await callUnary(this.#client.check.bind(this.#client), { service }, ctx);
    return res.status === HealthCheckResponse_ServingStatus.SERVING;
  }

  close(): void {
    this.#client.close();
  }
}
