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
import { ProxyContainerStore } from "@containerts/containers/proxy";
import { ProxySnapshotter } from "@containerts/snapshots/proxy";
import { ProxyDiffService } from "@containerts/diff/proxy";
import { ProxyContentStore } from "@containerts/content/proxy";
import { ProxyLeaseManager } from "@containerts/leases/proxy";
import { ProxyTaskService } from "@containerts/tasks/proxy";
import { type ContainerHandle, type NewContainerOptions, loadContainer, newContainer } from "./containers/index.js";
import { ProxyHealth, ProxyIntrospection, ProxyVersion, type ProxyTarget } from "@containerts/introspection/proxy";
import type { VersionInfo } from "@containerts/introspection";
import { ProxyImageStore } from "@containerts/images/proxy";
import type { Descriptor, Image } from "./images/types.js";
import { withLease, type WithLeaseOptions } from "./lease.js";
import { fetchImage, type FetchOptions } from "./images/fetch.js";
import { pull, type PullOptions } from "./images/pull.js";
import { push, type PushOptions } from "./images/push.js";
import { unpack, isUnpacked, type ImageRef, type UnpackOptions, type UnpackResult } from "./images/unpack.js";
import { importArchive, type ArchiveSource, type ImportOptions, type ImportResult } from "./images/import.js";
import { exportArchive, type ExportImage, type ExportOptions, type ExportResult } from "./images/export.js";
import type { Writable } from "node:stream";
import { resolve } from "node:path";

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
   * Connects to the daemon at `address` (a unix socket path, optionally prefixed `unix://`; a relative
   * path is taken against the working directory, as ctr does) and waits until the connection is ready.
   * @throws UnavailableError when nothing answers; DeadlineExceededError after the connect timeout.
   */
  static async connect(address: string = DEFAULT_ADDRESS, options: ClientOptions = {}): Promise<Client> {
    // grpc-js would read `unix://dir/sock` as authority `dir` and path `/sock`: always give it an absolute path.
    const path = resolve(address.replace(/^unix:\/\//, ""));
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

  /** Containers (get, list, create, update, delete): container metadata records. */
  /**
   * The snapshotter `name` (`overlayfs`, `native`, …) over the Snapshots service. Proxies are shared per
   * name; closing one leaves the client's channel open.
   */
  snapshots(name = "overlayfs"): ProxySnapshotter {
    return this.service(`snapshots/${name}`, (t) => new ProxySnapshotter(t, name));
  }

  get containers(): ProxyContainerStore {
    return this.service("containers", (t) => new ProxyContainerStore(t));
  }

  /** The diff service: apply layers onto mounts, compute layers between mount sets. */
  get diff(): ProxyDiffService {
    return this.service("diff", (t) => new ProxyDiffService(t));
  }

  /** The content store (blobs, ingests, labels) over the Content service. */
  get content(): ProxyContentStore {
    return this.service("content", (t) => new ProxyContentStore(t));
  }

  /** Leases (create, delete, list, resources) over the Leases service. */
  get leases(): ProxyLeaseManager {
    return this.service("leases", (t) => new ProxyLeaseManager(t));
  }

  /** Tasks (create, start, wait, kill, exec, delete, …) over the Tasks service. */
  get tasks(): ProxyTaskService {
    return this.service("tasks", (t) => new ProxyTaskService(t));
  }

  /**
   * Creates a container (containerd's `NewContainer`): a new snapshot, a generated spec, the record. See
   * {@link newContainer} in `./containers`.
   */
  newContainer(ctx: Context, id: string, options: NewContainerOptions = {}): Promise<ContainerHandle> {
    return newContainer(this, ctx, id, options);
  }

  /** Loads an existing container. @throws NotFoundError when it does not exist. */
  loadContainer(ctx: Context, id: string): Promise<ContainerHandle> {
    return loadContainer(this, ctx, id);
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

  /** Images (get, list, create, update, delete): image records over the Images service. */
  get images(): ProxyImageStore {
    return this.service("images", (t) => new ProxyImageStore(t));
  }

  /** Runs `fn` under a temporary lease (see {@link withLease}). */
  withLease<T>(ctx: Context, fn: (ctx: Context) => Promise<T>, options?: WithLeaseOptions): Promise<T> {
    return withLease(this, ctx, fn, options);
  }

  /** Pulls an image from a registry, optionally unpacking it (see {@link pull}). */
  pull(ctx: Context, ref: string, options?: PullOptions): Promise<Image> {
    return pull(this, ctx, ref, options);
  }

  /** Fetches an image's content and records it, without unpacking (see {@link fetchImage}). */
  fetch(ctx: Context, ref: string, options?: FetchOptions): Promise<Image> {
    return fetchImage(this, ctx, ref, options);
  }

  /** Pushes an image (by name, record or descriptor) to a registry (see {@link push}). */
  push(ctx: Context, ref: string, image: ImageRef, options?: PushOptions): Promise<Descriptor> {
    return push(this, ctx, ref, image, options);
  }

  /** Unpacks an image into a snapshotter (see {@link unpack}). */
  unpack(ctx: Context, image: ImageRef, options?: UnpackOptions): Promise<UnpackResult> {
    return unpack(this, ctx, image, options);
  }

  /** True when the image's top layer snapshot exists (see {@link isUnpacked}). */
  isUnpacked(ctx: Context, image: ImageRef, options?: Omit<UnpackOptions, "onProgress">): Promise<boolean> {
    return isUnpacked(this, ctx, image, options);
  }

  /** Imports an OCI or Docker image archive (see {@link importArchive}). */
  importArchive(ctx: Context, source: ArchiveSource, options?: ImportOptions): Promise<ImportResult> {
    return importArchive(this, ctx, source, options);
  }

  /** Exports images to an OCI/Docker archive (see {@link exportArchive}). */
  exportArchive(ctx: Context, images: readonly ExportImage[], out: Writable | string, options?: ExportOptions): Promise<ExportResult> {
    return exportArchive(this, ctx, images, out, options);
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
