/**
 * The containerts client: one gRPC channel to a daemon speaking containerd's v1 API (containertsd or
 * containerd itself), and the service proxies over it. The counterpart of containerd's Go `Client`.
 *
 * Each service is a getter returning a proxy that implements the service's domain interface; every call
 * takes a {@link Context} (namespace, lease, AbortSignal) first.
 */
import { Channel, credentials, connectivityState, type ChannelOptions } from "@grpc/grpc-js";
import { UnavailableError, DeadlineExceededError } from "@containerts/errdefs";
import { background, withNamespace, DEFAULT_NAMESPACE, type Context } from "@containerts/namespaces";
import { ProxyNamespaceStore } from "@containerts/namespaces/proxy";
import { ProxyHealth, ProxyIntrospection, ProxyVersion, type ProxyTarget } from "@containerts/introspection/proxy";
import type { VersionInfo } from "@containerts/introspection";

/** The default address of containertsd. */
export const DEFAULT_ADDRESS = "/run/containerts/containerts.sock";
/** containerd's maximum message size, used for both directions. */
export const MAX_MESSAGE_SIZE = 16 << 20;

/** Options of {@link Client.connect}. */
export interface ClientOptions {
  /** How long to wait for the connection (default 10 s, like containerd's client). */
  readonly connectTimeoutMs?: number;
  /** The namespace {@link Client.context} uses (default `default`). */
  readonly namespace?: string;
}

/** A connection to a daemon and the service proxies over it. */
export class Client {
  /** The unix socket path. */
  readonly address: string;
  /** The namespace of {@link Client.context}. */
  readonly namespace: string;
  /** What proxies need to reach the daemon through the shared channel. */
  readonly target: ProxyTarget;
  readonly #channel: Channel;
  readonly #services = new Map<string, unknown>();

  private constructor(address: string, channel: Channel, namespace: string) {
    this.address = address;
    this.namespace = namespace;
    this.#channel = channel;
    this.target = {
      address: `unix://${address}`,
      credentials: credentials.createInsecure(),
      options: { channelOverride: channel },
    };
  }

  /**
   * Connects to the daemon at `address` (a unix socket path, optionally prefixed `unix://`) and waits
   * until the connection is ready.
   * @throws UnavailableError when nothing answers; DeadlineExceededError after the connect timeout.
   */
  static async connect(address: string = DEFAULT_ADDRESS, options: ClientOptions = {}): Promise<Client> {
    const path = address.replace(/^unix:\/\//, "");
    const channelOptions: ChannelOptions = {
      "grpc.max_receive_message_length": MAX_MESSAGE_SIZE,
      "grpc.max_send_message_length": MAX_MESSAGE_SIZE,
    };
    const channel = new Channel(`unix://${path}`, credentials.createInsecure(), channelOptions);
    const deadline = Date.now() + (options.connectTimeoutMs ?? 10_000);
    try {
      await waitReady(channel, deadline, path);
    } catch (err) {
      channel.close();
      throw err;
    }
    return new Client(path, channel, options.namespace ?? DEFAULT_NAMESPACE);
  }

  /** A context in the client's namespace, cancelled by `signal` when given. */
  context(signal?: AbortSignal): Context {
    return withNamespace(background(signal), this.namespace);
  }

  /** A lazily created service proxy, shared for the client's lifetime. */
  protected service<T>(key: string, create: (target: ProxyTarget) => T): T {
    let s = this.#services.get(key) as T | undefined;
    if (s === undefined) {
      s = create(this.target);
      this.#services.set(key, s);
    }
    return s;
  }

  /** Namespaces (create, get, list, update, delete). */
  get namespaces(): ProxyNamespaceStore {
    return this.service("namespaces", (t) => new ProxyNamespaceStore(t));
  }

  /** Plugins and the server's identity. */
  get introspection(): ProxyIntrospection {
    return this.service("introspection", (t) => new ProxyIntrospection(t));
  }

  /** gRPC health checking. */
  get health(): ProxyHealth {
    return this.service("health", (t) => new ProxyHealth(t));
  }

  /** The daemon's version. */
  version(ctx: Context = this.context()): Promise<VersionInfo> {
    return this.service("version", (t) => new ProxyVersion(t)).version(ctx);
  }

  /** True when the daemon reports it is serving (gRPC health). */
  isServing(ctx: Context = this.context()): Promise<boolean> {
    return this.health.isServing(ctx);
  }

  /** Closes the connection; proxies stop working. */
  close(): void {
    this.#channel.close();
  }
}

function waitReady(channel: Channel, deadline: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) {
        resolve();
        return;
      }
      if (Date.now() >= deadline) {
        reject(
          state === connectivityState.TRANSIENT_FAILURE
            ? new UnavailableError(`failed to dial "${path}": connection refused`, { bare: true })
            : new DeadlineExceededError(`failed to dial "${path}": context deadline exceeded`, { bare: true }),
        );
        return;
      }
      channel.watchConnectivityState(state, Math.min(deadline, Date.now() + 200), () => check());
    };
    check();
  });
}
