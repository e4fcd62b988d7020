/**
 * Containers on the client side (containerd's `client.NewContainer`, `container.go`): create a container
 * record with a new root filesystem snapshot from an image and a generated OCI spec, create its task with
 * client-side I/O, and delete it with its snapshot.
 */
import type { AnyValue, Container, ContainerStore } from "@containerts/containers";
import type { Provider } from "@containerts/content";
import { FailedPreconditionError, InvalidArgumentError, isNotFound, withContext } from "@containerts/errdefs";
import { chainId, type PlatformMatchComparer, rootFS, config as imageConfigDescriptor } from "@containerts/images";
import type { LeaseManager } from "@containerts/leases";
import { type Context, type NamespaceStore, namespaceRequired } from "@containerts/namespaces";
import type { Mount, Snapshotter } from "@containerts/snapshots";
import type { TaskService } from "@containerts/tasks";
import { type IOAttach, type IOCreator, type ProcessIO, nullIO } from "./cio.js";
import { type Spec, defaultUnixSpec, specToAny } from "./oci.js";
import { type ContainerImage, type SpecContext, type SpecOpt, readImageRunConfig } from "./spec-opts.js";
import { STOP_SIGNAL_LABEL } from "./signals.js";
import { Task } from "./task.js";
import { withLease } from "../lease.js";
import { resolveSnapshotter } from "../images/services.js";
import type { PlatformSpec } from "../images/platform.js";
import { unpackMatcher } from "../images/unpack.js";

/** containerd's default runtime (also tsctr's; `io.containerts.tsrunc.v1` is our shim). */
export const DEFAULT_RUNTIME = "io.containerd.runc.v2";
/**
 * What containers and tasks need from the client: the services, by their domain interfaces. The
 * {@link import("../client.js").Client} satisfies it.
 */
export interface ContainerClient {
  readonly containers: ContainerStore;
  readonly tasks: TaskService;
  readonly content: Provider;
  readonly namespaces: Pick<NamespaceStore, "get">;
  readonly leases: LeaseManager;
  snapshots(name: string): Pick<Snapshotter, "prepare" | "mounts" | "remove" | "stat">;
}

/** Options of {@link newContainer}. */
export interface NewContainerOptions {
  /** The image the container is made from: recorded by name, and read by `newSnapshot` and image spec options. */
  readonly image?: ContainerImage;
  /** The platform of the image to use: a specifier (`linux/arm64`), a platform or a matcher (default: the host's). */
  readonly platform?: PlatformSpec | PlatformMatchComparer;
  /**
   * The snapshotter of the root filesystem. Default: the namespace's `containerd.io/defaults/snapshotter`
   * label, else `overlayfs`.
   */
  readonly snapshotter?: string;
  /** Prepare a new writable snapshot `key` on top of the image's layers (needs `image`). */
  readonly newSnapshot?: { readonly key: string; readonly labels?: Readonly<Record<string, string>> };
  /** Use the existing snapshot `key` as the root filesystem (its mounts must exist). */
  readonly snapshotKey?: string;
  /** The runtime (default {@link DEFAULT_RUNTIME} without options). */
  readonly runtime?: { readonly name: string; readonly options?: AnyValue };
  /**
   * The base spec. Without it, the default Linux spec of the container (`defaultUnixSpec`) is the base.
   * `specOpts` are applied to it in order, after the snapshot exists.
   */
  readonly spec?: Spec;
  /** Edits of the spec, in order. */
  readonly specOpts?: readonly SpecOpt[];
  /** Start the labels from the image config's `Labels` (containerd's `WithImageConfigLabels`). */
  readonly imageConfigLabels?: boolean;
  /** Labels (over the image config's). */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Record the image's stop signal in the `io.containerd.image.config.stop-signal` label, this one when
   * the image has none (containerd's `WithImageStopSignal`).
   */
  readonly imageStopSignal?: string;
  /** Extensions (opaque Anys). */
  readonly extensions?: Readonly<Record<string, AnyValue>>;
}

/**
 * Creates a container (containerd's `client.NewContainer`) under a temporary lease, so the new snapshot
 * cannot be collected before the container record holds it:
 *
 * 1. the record starts with the image name, the image config's labels (`imageConfigLabels`), `labels`;
 * 2. the snapshotter is resolved; `newSnapshot` prepares `key` on the image's top chain ID, or
 *    `snapshotKey` is checked to exist;
 * 3. the stop-signal label (`imageStopSignal`), the runtime;
 * 4. the spec: `spec` or the default Linux spec, then `specOpts` (which may mount the snapshot on the
 *    client to read `/etc/passwd`), stored as the spec Any;
 * 5. `Containers.Create`.
 *
 * @throws InvalidArgumentError when `newSnapshot` has no image; the errors of the services (AlreadyExists
 *   for a snapshot key or container id in use, NotFound for missing image blobs, …) and of the spec
 *   options. A snapshot prepared before a failure is left to the garbage collector (the lease is gone).
 */
export async function newContainer(client: ContainerClient, ctx: Context, id: string, options: NewContainerOptions = {}): Promise<ContainerHandle> {
  return withLease(client, ctx, async (ctx) => {
    const image = options.image;
    const platform = unpackMatcher(options.platform);
    let labels: Record<string, string> = {};
    let runConfig: Awaited<ReturnType<typeof readImageRunConfig>> | undefined;
    const imageRunConfig = async () => {
      if (image === undefined) throw new InvalidArgumentError("container has no image");
      runConfig ??= await readImageRunConfig(client.content, ctx, image, platform);
      return runConfig;
    };
    if (options.imageConfigLabels) labels = { ...(await imageRunConfig()).labels };
    Object.assign(labels, options.labels ?? {});

    const snapshotter = options.newSnapshot !== undefined || options.snapshotKey !== undefined ? await resolveSnapshotter(client, ctx, options.snapshotter) : (options.snapshotter ?? "");
    let snapshotKey = "";
    if (options.newSnapshot !== undefined) {
      if (image === undefined) throw new InvalidArgumentError("a new snapshot needs an image");
      const configDesc = await imageConfigDescriptor(client.content, ctx, image.target, platform);
      const parent = chainId(await rootFS(client.content, ctx, configDesc));
      await client.snapshots(snapshotter).prepare(ctx, options.newSnapshot.key, parent, { labels: { ...(options.newSnapshot.labels ?? {}) } });
      snapshotKey = options.newSnapshot.key;
    } else if (options.snapshotKey !== undefined) {
      await client.snapshots(snapshotter).mounts(ctx, options.snapshotKey);
      snapshotKey = options.snapshotKey;
    }
    if (options.imageStopSignal !== undefined) {
      const sig = (await imageRunConfig()).stopSignal;
      labels[STOP_SIGNAL_LABEL] = sig === "" ? options.imageStopSignal : sig;
    }

    const runtime = options.runtime ?? { name: DEFAULT_RUNTIME };
    const record = { id, snapshotter, snapshotKey };
    const spec: Spec = options.spec !== undefined ? structuredClone(options.spec) : defaultUnixSpec(namespaceRequired(ctx), id);
    const sc: SpecContext = {
      ctx,
      container: record,
      content: client.content,
      snapshotMounts: (name, key) => client.snapshots(name).mounts(ctx, key),
    };
    for (const opt of options.specOpts ?? []) await opt(sc, spec);

    const created = await client.containers.create(ctx, {
      id,
      image: image?.name ?? "",
      labels,
      runtime: runtime.options === undefined ? { name: runtime.name } : { name: runtime.name, options: runtime.options },
      spec: specToAny(spec),
      snapshotter,
      snapshotKey,
      extensions: { ...(options.extensions ?? {}) },
    });
    return new ContainerHandle(client, created);
  });
}

/**
 * Loads an existing container.
 * @throws NotFoundError `container "<id>" in namespace "<ns>": not found`.
 */
export async function loadContainer(client: ContainerClient, ctx: Context, id: string): Promise<ContainerHandle> {
  return new ContainerHandle(client, await client.containers.get(ctx, id));
}

/** Options of {@link ContainerHandle.newTask}. */
export interface NewTaskOptions {
  /** How the task's stdio is connected: `fifoIO(…)`, `stdio()`, `logURIIO(…)` or `nullIO` (the default). */
  readonly io?: IOCreator;
  /** Task options for the shim (default: the container's runtime options). */
  readonly options?: AnyValue;
  /** An absolute shim binary path overriding the container's runtime. */
  readonly runtimePath?: string;
  /** Mounts added after the snapshot's. */
  readonly rootfs?: readonly Mount[];
}

/** Options of {@link ContainerHandle.delete}. */
export interface DeleteContainerOptions {
  /** Remove the container's snapshot too (containerd's `WithSnapshotCleanup`); a missing one is fine. */
  readonly snapshotCleanup?: boolean;
}

/**
 * A container (containerd's `Container`): its record, its spec, and the way to its task.
 */
export class ContainerHandle {
  readonly #client: ContainerClient;
  #record: Container;

  /** @internal Use {@link newContainer} or {@link loadContainer}. */
  constructor(client: ContainerClient, record: Container) {
    this.#client = client;
    this.#record = record;
  }

  /** The container id. */
  get id(): string {
    return this.#record.id;
  }

  /** The record as last read. */
  get record(): Container {
    return this.#record;
  }

  /** The record, read again from the daemon. */
  async info(ctx: Context): Promise<Container> {
    this.#record = await this.#client.containers.get(ctx, this.id);
    return this.#record;
  }

  /**
   * The container's OCI spec, read again from the daemon.
   * @throws InvalidArgumentError when the spec Any is not a JSON spec.
   */
  async spec(ctx: Context): Promise<Spec> {
    const r = await this.info(ctx);
    if (r.spec === undefined) throw new InvalidArgumentError("empty any", { bare: true });
    try {
      return JSON.parse(new TextDecoder().decode(r.spec.value)) as Spec;
    } catch (err) {
      throw new InvalidArgumentError(`spec of container ${this.id}`, { cause: err });
    }
  }

  /**
   * Applies spec options to `spec` in the context of this container (its snapshot is what options that
   * read the root filesystem mount), as ctr's `tasks exec --user` does with `oci.WithUser`.
   */
  async applySpecOpts(ctx: Context, spec: Spec, opts: readonly SpecOpt[]): Promise<Spec> {
    const r = this.#record;
    const sc: SpecContext = {
      ctx,
      container: { id: r.id, snapshotter: r.snapshotter, snapshotKey: r.snapshotKey },
      content: this.#client.content,
      snapshotMounts: (name, key) => this.#client.snapshots(name).mounts(ctx, key),
    };
    for (const opt of opts) await opt(sc, spec);
    return spec;
  }

  /**
   * Creates the task (containerd's `container.NewTask`): the I/O first, then the root filesystem mounts
   * of the container's snapshot, then `Tasks.Create`. On failure the I/O is released.
   * @throws InvalidArgumentError `unable to resolve rootfs mounts without snapshotter on container`; the
   *   daemon's errors (AlreadyExists for a second task, NotFound for an unknown runtime, …).
   */
  async newTask(ctx: Context, options: NewTaskOptions = {}): Promise<Task> {
    const io: ProcessIO = await (options.io ?? nullIO)(this.id);
    try {
      const r = await this.info(ctx);
      const rootfs: Mount[] = [];
      if (r.snapshotKey !== "") {
        if (r.snapshotter === "") throw new InvalidArgumentError("unable to resolve rootfs mounts without snapshotter on container");
        const mounts = await this.#client.snapshots(r.snapshotter).mounts(ctx, r.snapshotKey);
        const spec = await this.spec(ctx);
        const label = spec.linux?.mountLabel;
        for (const m of mounts) rootfs.push(label ? { ...m, options: [...m.options, `context="${label}"`] } : m);
      }
      rootfs.push(...(options.rootfs ?? []));
      const created = await this.#client.tasks.create(ctx, {
        containerId: this.id,
        rootfs: rootfs.map((m) => ({ type: m.type, source: m.source, target: m.target ?? "", options: m.options })),
        io: io.config,
        ...(options.options === undefined ? {} : { options: options.options }),
        ...(options.runtimePath === undefined ? {} : { runtimePath: options.runtimePath }),
      });
      return new Task(this.#client, this.id, created.pid, io, ctx);
    } catch (err) {
      io.cancel();
      await io.close();
      throw err;
    }
  }

  /**
   * The container's existing task, optionally reattaching to its FIFOs (`attachIO(…)`) or loading them for
   * removal (`loadIO`) (containerd's `container.Task`).
   * @throws NotFoundError `no running task found: task <id> not found`.
   */
  async task(ctx: Context, attach?: IOAttach): Promise<Task> {
    let st;
    try {
      st = await this.#client.tasks.get(ctx, { containerId: this.id });
    } catch (err) {
      if (isNotFound(err)) throw withContext(err, "no running task found");
      throw err;
    }
    const io = attach !== undefined && st.status !== "unknown" ? await attach({ stdin: st.stdin, stdout: st.stdout, stderr: st.stderr, terminal: st.terminal }) : undefined;
    return new Task(this.#client, this.id, st.pid, io);
  }

  /**
   * Deletes the container (containerd's `container.Delete`): refuses while it has a task, removes the
   * snapshot with `snapshotCleanup` (NotFound tolerated), then the record.
   * @throws FailedPreconditionError `cannot delete running task <id>`; InvalidArgumentError
   *   `container.Snapshotter must be set to cleanup rootfs snapshot`; NotFoundError for an unknown container.
   */
  async delete(ctx: Context, options: DeleteContainerOptions = {}): Promise<void> {
    let hasTask = true;
    try {
      await this.#client.tasks.get(ctx, { containerId: this.id });
    } catch {
      hasTask = false;
    }
    if (hasTask) throw new FailedPreconditionError(`cannot delete running task ${this.id}`);
    const r = await this.info(ctx);
    if (options.snapshotCleanup && r.snapshotKey !== "") {
      if (r.snapshotter === "") throw new InvalidArgumentError("container.Snapshotter must be set to cleanup rootfs snapshot");
      try {
        await this.#client.snapshots(r.snapshotter).remove(ctx, r.snapshotKey);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    await this.#client.containers.delete(ctx, this.id);
  }
}
