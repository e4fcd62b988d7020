/**
 * The runtime v2 shim manager (containerd's `runtime/v2/manager.go` + `shim_load.go`): starts a shim per
 * task, keeps the ttrpc connections, cleans up after shims that die, and re-adopts running shims after a
 * daemon restart.
 */
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  AlreadyExistsError,
  NotFoundError,
  isNotFound,
  normalize,
  withContext,
} from "@containerts/errdefs";
import { type Context, background, namespaceRequired, withNamespace } from "@containerts/namespaces";
import { EventType, Topic, type Publisher, discardPublisher } from "@containerts/events";
import type { ContainerStore } from "@containerts/containers";
import { type TtrpcClient, connectTtrpcClient, isTtrpcClosed } from "@containerts/ttrpc";
import { unmountAllAsync } from "@containerts/sys";
import type { PlatformRuntime, RuntimeCreateOptions, RuntimeTask } from "../runtime-types.js";
import { type Exit, UNKNOWN_EXIT_STATUS } from "../task.js";
import { shimSocketPath } from "../naming.js";
import { ShimTask } from "../proxy/shim.js";
import { Bundle, BundleFile } from "./bundle.js";
import { type ShimCommandConfig, RuntimeResolver, shimDelete, shimStart } from "./shim-binary.js";
import { type ShimLogReader, openShimLog } from "./shim-log.js";

/** The logger the manager writes to (structurally the plugin registry's `Logger`). */
export interface ManagerLogger {
  debug(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

const silent: ManagerLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Options of {@link ShimManager.open}. */
export interface ShimManagerOptions {
  /** Persistent work directories: `<root>/<ns>/<id>` (the plugin's `<root>/io.containerd.runtime.v2.task`). */
  readonly root: string;
  /** Bundles: `<state>/<ns>/<id>` (the plugin's `<state>/io.containerd.runtime.v2.task`). */
  readonly state: string;
  /** The daemon's gRPC address, passed to shims as `-address`. */
  readonly address: string;
  /** The daemon's ttrpc address, passed to shims as `TTRPC_ADDRESS` (where they forward events). */
  readonly ttrpcAddress: string;
  /**
   * The daemon executable, passed as `-publish-binary`; its directory is the last place shim binaries
   * are looked for.
   */
  readonly publishBinary: string;
  /** The environment of shim commands and the `PATH` binaries are looked up on. Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Containers, to find the runtime of a bundle that has no `shim-binary-path` on restart. Without it
   * such bundles are deleted.
   */
  readonly containers?: ContainerStore;
  /** Where `/tasks/exit` and `/tasks/delete` go when a shim dies. Default: dropped. */
  readonly publisher?: Publisher;
  /** Structured log. */
  readonly log?: ManagerLogger;
  /** Receives the shims' log lines (from each bundle's `log` FIFO). Default: the manager's log at info. */
  readonly shimLog?: (line: string, fields: { readonly namespace: string; readonly id: string }) => void;
  /** Pass `-debug` to shims. */
  readonly debug?: boolean;
  /** Add `SCHED_CORE=1` to the shims' environment. */
  readonly schedCore?: boolean;
  /** Timeout of the `Connect` of a re-adopted shim (containerd's `io.containerd.timeout.shim.load`). Default 5 s. */
  readonly loadTimeoutMs?: number;
  /** Timeout of the `delete` command after a shim died (`io.containerd.timeout.shim.cleanup`). Default 5 s. */
  readonly cleanupTimeoutMs?: number;
  /** Timeout of `Shutdown` (`io.containerd.timeout.shim.shutdown`). Default 3 s. */
  readonly shutdownTimeoutMs?: number;
}

/** One managed shim connection. */
interface Entry {
  readonly key: string;
  readonly task: ShimTask;
  readonly bundle: Bundle;
  /** The resolved shim binary. */
  readonly binary: string;
  readonly log: ShimLogReader;
  /** Set when the daemon itself ends the connection (delete, failed create, daemon shutdown). */
  detaching: boolean;
  /** Tearing down (closing the client and the log, deleting the bundle) happens once. */
  teardown?: Promise<void>;
  /** The dead-shim cleanup, once. */
  deadCleanup?: Promise<void>;
}

/** True for a failed connect to a socket nobody serves any more (refused, or the file is gone). */
function isShimGone(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ECONNREFUSED" || code === "ENOENT") return true;
  }
  return false;
}

function keyOf(namespace: string, id: string): string {
  return `${namespace}/${id}`;
}

async function readDirNames(path: string): Promise<{ name: string; dir: boolean }[]> {
  const entries = await readdir(path, { withFileTypes: true });
  return entries.map((e) => ({ name: e.name, dir: e.isDirectory() }));
}

/**
 * The runtime v2 task manager: a {@link PlatformRuntime} that runs each task in a shim started with
 * containerd's `start` protocol and talks to it over ttrpc.
 *
 * - `create` resolves the runtime to a shim binary, writes the bundle, runs `start`, connects, writes
 *   `shim-binary-path`, then calls the shim's `Create` and `Connect`. Any failure removes what was made
 *   (the shim is told to `Delete` and `Shutdown`, the bundle deleted).
 * - A shim whose connection closes without the daemon asking is dead: its `delete` command is run, its
 *   bundle deleted, and if its task was still registered `/tasks/exit` and `/tasks/delete` are published
 *   (with the exit `delete` reported, or 255 and now) and the task dropped.
 * - {@link open} re-adopts the shims of the bundles found in the state directory (`address`,
 *   `shim-binary-path`, `Connect`), cleans up those that do not answer, and removes work directories that
 *   belong to no task.
 * - {@link close} lets go of the shims (they keep running) without touching their bundles.
 */
export class ShimManager implements PlatformRuntime {
  readonly #root: string;
  readonly #state: string;
  readonly #config: ShimCommandConfig;
  readonly #resolver: RuntimeResolver;
  readonly #containers: ContainerStore | undefined;
  readonly #publisher: Publisher;
  readonly #log: ManagerLogger;
  readonly #shimLog: (line: string, fields: { readonly namespace: string; readonly id: string }) => void;
  readonly #loadTimeoutMs: number;
  readonly #cleanupTimeoutMs: number;
  readonly #shutdownTimeoutMs: number;
  readonly #tasks = new Map<string, Entry>();
  readonly #pending = new Set<string>();
  readonly #cleanups = new Set<Promise<void>>();
  #closed = false;

  private constructor(options: ShimManagerOptions) {
    const env = options.env ?? process.env;
    this.#root = options.root;
    this.#state = options.state;
    this.#config = {
      address: options.address,
      ttrpcAddress: options.ttrpcAddress,
      publishBinary: options.publishBinary,
      env,
      debug: options.debug ?? false,
      schedCore: options.schedCore ?? false,
    };
    this.#resolver = new RuntimeResolver({ pathEnv: env["PATH"], daemonDir: join(options.publishBinary, "..") });
    this.#containers = options.containers;
    this.#publisher = options.publisher ?? discardPublisher;
    this.#log = options.log ?? silent;
    this.#shimLog = options.shimLog ?? ((line, fields) => this.#log.info(line, { ...fields, source: "shim" }));
    this.#loadTimeoutMs = options.loadTimeoutMs ?? 5000;
    this.#cleanupTimeoutMs = options.cleanupTimeoutMs ?? 5000;
    this.#shutdownTimeoutMs = options.shutdownTimeoutMs ?? 3000;
  }

  /**
   * Creates the root and state directories (0711), re-adopts the shims of existing bundles and removes
   * orphaned work directories.
   */
  static async open(options: ShimManagerOptions, signal?: AbortSignal): Promise<ShimManager> {
    const m = new ShimManager(options);
    await mkdir(options.root, { recursive: true, mode: 0o711 });
    await mkdir(options.state, { recursive: true, mode: 0o711 });
    await m.#loadExisting(signal);
    return m;
  }

  // ---- PlatformRuntime ----

  async create(ctx: Context, id: string, options: RuntimeCreateOptions): Promise<RuntimeTask> {
    const namespace = namespaceRequired(ctx);
    const key = keyOf(namespace, id);
    if (this.#tasks.has(key) || this.#pending.has(key)) throw new AlreadyExistsError(`task ${id}`);
    this.#pending.add(key);
    try {
      const entry = await this.#startShim(ctx, namespace, id, options);
      this.#tasks.set(key, entry);
      try {
        await entry.task.create(ctx, options);
      } catch (err) {
        await this.#abandon(entry);
        throw withContext(err, "failed to create shim task");
      }
      return entry.task;
    } finally {
      this.#pending.delete(key);
    }
  }

  get(ctx: Context, id: string): RuntimeTask {
    const entry = this.#tasks.get(keyOf(namespaceRequired(ctx), id));
    if (entry === undefined) throw new NotFoundError("task does not exist", { bare: true });
    return entry.task;
  }

  tasks(ctx: Context, all: boolean): RuntimeTask[] {
    if (all) return [...this.#tasks.values()].map((e) => e.task);
    const ns = namespaceRequired(ctx);
    return [...this.#tasks.values()].filter((e) => e.task.namespace === ns).map((e) => e.task);
  }

  async delete(ctx: Context, id: string): Promise<Exit> {
    const key = keyOf(namespaceRequired(ctx), id);
    const entry = this.#tasks.get(key);
    if (entry === undefined) throw new NotFoundError("task does not exist", { bare: true });
    let exit: Exit | undefined;
    let shimErr: unknown;
    try {
      exit = await entry.task.deleteInit(ctx);
    } catch (err) {
      if (!isTtrpcClosed(err) && !isNotFound(err)) throw withContext(err, "failed to delete task");
      shimErr = err;
    }
    entry.detaching = true;
    if (this.#tasks.get(key) === entry) this.#tasks.delete(key);
    try {
      await entry.task.shutdown(ctx, { timeoutMs: this.#shutdownTimeoutMs });
    } catch (err) {
      this.#log.error("failed to shutdown shim task", { namespace: entry.task.namespace, id, error: normalize(err).message });
    }
    await this.#teardown(entry);
    if (exit === undefined) throw withContext(shimErr, "failed to delete task");
    return exit;
  }

  /**
   * Lets go of every shim: closes the connections and log FIFOs without deleting anything (the shims and
   * their containers keep running, to be re-adopted by the next {@link open}), after the dead-shim
   * cleanups already under way have finished.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#cleanups]);
    const entries = [...this.#tasks.values()];
    this.#tasks.clear();
    await Promise.allSettled(
      entries.map(async (e) => {
        e.detaching = true;
        e.log.close();
        await e.task.client.close();
      }),
    );
  }

  /** Closes the manager (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- shim start ----

  async #startShim(ctx: Context, namespace: string, id: string, options: RuntimeCreateOptions): Promise<Entry> {
    let binary: string;
    try {
      binary = await this.#resolver.resolve(options.runtime);
    } catch (err) {
      throw withContext(err, "failed to start shim: failed to resolve runtime path");
    }
    let bundle: Bundle;
    try {
      bundle = await Bundle.create(this.#root, this.#state, namespace, id, options.spec.value);
    } catch (err) {
      throw withContext(err, "failed to start shim");
    }
    let log: ShimLogReader | undefined;
    let client: TtrpcClient | undefined;
    try {
      log = openShimLog(bundle.file(BundleFile.Log), (line) => this.#shimLog(line, { namespace, id }));
      const start = () => shimStart(this.#config, binary, namespace, id, bundle.path, options.taskOptions ?? options.runtimeOptions, ctx.signal);
      const connect = (address: string) => connectTtrpcClient(shimSocketPath(address), { timeoutMs: 100_000, signal: ctx.signal });
      const address = await start();
      try {
        client = await connect(address);
      } catch (err) {
        // A shim serving several containers (a shared or grouped shim) can die or exit between the
        // `start` that handed out its address and this connect. `start` again: it finds the socket dead
        // and starts a new shim.
        if (!isShimGone(err)) throw err;
        this.#log.warn("shim went away after start, starting again", { namespace, id, address, error: normalize(err).message });
        client = await connect(await start());
      }
      await writeFile(bundle.file(BundleFile.ShimBinaryPath), binary, { mode: 0o600 });
    } catch (err) {
      log?.close();
      await client?.close();
      await bundle.delete().catch((e: unknown) => this.#log.warn("failed to delete bundle", { namespace, id, error: normalize(e).message }));
      throw withContext(err, "failed to start shim: start failed");
    }
    return this.#track(new ShimTask(client, { id, namespace, bundlePath: bundle.path, runtime: options.runtime }), bundle, binary, log);
  }

  /** Registers the close handler of a shim connection. */
  #track(task: ShimTask, bundle: Bundle, binary: string, log: ShimLogReader): Entry {
    const entry: Entry = { key: keyOf(task.namespace, task.id), task, bundle, binary, log, detaching: false };
    task.client.onClose(() => {
      if (entry.detaching || this.#closed) {
        entry.log.close();
        return;
      }
      this.#log.info("shim disconnected", { namespace: task.namespace, id: task.id });
      void this.#cleanupDeadShim(entry);
    });
    return entry;
  }

  /** After a failed Create: the shim's Delete and Shutdown, then the teardown (containerd's `cleanupShim`). */
  async #abandon(entry: Entry): Promise<void> {
    if (this.#tasks.get(entry.key) === entry) this.#tasks.delete(entry.key);
    entry.detaching = true;
    const ctx = withNamespace(background(AbortSignal.timeout(this.#cleanupTimeoutMs)), entry.task.namespace);
    try {
      await entry.task.deleteInit(ctx);
    } catch {
      // the task was never created
    }
    try {
      await entry.task.shutdown(ctx, { timeoutMs: this.#shutdownTimeoutMs });
    } catch (err) {
      this.#log.warn("failed to shutdown shim after failed create", { namespace: entry.task.namespace, id: entry.task.id, error: normalize(err).message });
    }
    // As containerd does once the connection closes: the shim's `delete` command force-removes whatever
    // the failed Create left behind (a runc container created before the failure, its init process).
    await this.#runDelete(entry.task.namespace, entry.task.id, entry.bundle, entry.binary);
    await this.#teardown(entry);
  }

  /** Closes the client and the log and deletes the bundle, once. */
  #teardown(entry: Entry): Promise<void> {
    entry.teardown ??= (async () => {
      entry.detaching = true;
      entry.log.close();
      await entry.task.client.close();
      try {
        await entry.bundle.delete();
      } catch (err) {
        this.#log.error("failed to delete bundle", { namespace: entry.task.namespace, id: entry.task.id, error: normalize(err).message });
      }
    })();
    return entry.teardown;
  }

  // ---- dead shims ----

  /**
   * containerd's `cleanupAfterDeadShim`: runs the shim's `delete` command, deletes the bundle and, when
   * the task was still registered, publishes its exit and deletion and drops it.
   */
  #cleanupDeadShim(entry: Entry): Promise<void> {
    entry.deadCleanup ??= (async () => {
      const { namespace, id } = entry.task;
      this.#log.warn("cleaning up after shim disconnected", { namespace, id });
      const exit = await this.#runDelete(namespace, id, entry.bundle, entry.binary);
      await this.#teardown(entry);
      if (this.#tasks.get(entry.key) !== entry) return;
      this.#tasks.delete(entry.key);
      const pid = exit?.pid ?? 0;
      const exitStatus = exit?.exitStatus ?? UNKNOWN_EXIT_STATUS;
      const exitedAt = exit?.exitedAt ?? new Date();
      const ctx = withNamespace(background(), namespace);
      try {
        await this.#publisher.publish(ctx, Topic.TaskExit, {
          typeUrl: EventType.TaskExit,
          message: { containerId: id, id, pid, exitStatus, exitedAt },
        });
        await this.#publisher.publish(ctx, Topic.TaskDelete, {
          typeUrl: EventType.TaskDelete,
          message: { containerId: id, pid, exitStatus, exitedAt, id: "" },
        });
      } catch (err) {
        this.#log.warn("failed to publish events of a dead shim", { namespace, id, error: normalize(err).message });
      }
    })();
    const p = entry.deadCleanup;
    this.#cleanups.add(p);
    void p.finally(() => this.#cleanups.delete(p));
    return p;
  }

  /** Runs the shim's `delete` command; its exit, or undefined when it failed (logged). */
  async #runDelete(namespace: string, id: string, bundle: Bundle, binary: string): Promise<Exit | undefined> {
    try {
      const r = await shimDelete(this.#config, binary, namespace, id, bundle.path, AbortSignal.timeout(this.#cleanupTimeoutMs));
      if (r.warnings.trim() !== "") this.#log.warn("cleanup warnings", { namespace, id, warnings: r.warnings.trim() });
      return r.exit;
    } catch (err) {
      this.#log.warn("failed to clean up after shim disconnected", { namespace, id, error: normalize(err).message });
      return undefined;
    }
  }

  // ---- restart ----

  async #loadExisting(signal: AbortSignal | undefined): Promise<void> {
    let namespaces: { name: string; dir: boolean }[];
    try {
      namespaces = await readDirNames(this.#state);
    } catch (err) {
      if (isNotFound(normalize(err))) return;
      throw err;
    }
    for (const nsd of namespaces) {
      if (!nsd.dir || nsd.name.startsWith(".")) continue;
      const ns = nsd.name;
      try {
        await this.#loadShims(ns, signal);
      } catch (err) {
        this.#log.error("loading tasks in namespace", { namespace: ns, error: normalize(err).message });
        continue;
      }
      try {
        await this.#cleanupWorkDirs(ns);
      } catch (err) {
        this.#log.error("cleanup working directory in namespace", { namespace: ns, error: normalize(err).message });
      }
    }
  }

  async #loadShims(ns: string, signal: AbortSignal | undefined): Promise<void> {
    const ctx = withNamespace(background(signal), ns);
    for (const sd of await readDirNames(join(this.#state, ns))) {
      if (!sd.dir || sd.name.startsWith(".")) continue;
      const id = sd.name;
      const bundle = Bundle.load(this.#root, this.#state, ns, id);
      const deleteBundle = () =>
        bundle.delete().catch((err: unknown) => this.#log.error("failed to delete bundle", { namespace: ns, id, error: normalize(err).message }));
      let files: string[];
      try {
        files = await readdir(bundle.path);
      } catch (err) {
        this.#log.error("fast path read bundle path", { namespace: ns, id, error: normalize(err).message });
        await deleteBundle();
        continue;
      }
      if (files.length === 0) {
        await deleteBundle();
        continue;
      }
      let runtime = "";
      try {
        runtime = await readFile(bundle.file(BundleFile.ShimBinaryPath), "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
          this.#log.error("failed to read `runtime` path from bundle", { namespace: ns, id, error: normalize(err).message });
        }
      }
      if (runtime === "") {
        try {
          if (this.#containers === undefined) throw new NotFoundError(`container ${JSON.stringify(id)}`);
          runtime = (await this.#containers.get(ctx, id)).runtime.name;
        } catch (err) {
          this.#log.error("loading container", { namespace: ns, id, error: normalize(err).message });
          await unmountAllAsync(bundle.file(BundleFile.Rootfs)).catch(() => undefined);
          await deleteBundle();
          continue;
        }
      }
      let binary: string;
      try {
        binary = await this.#resolver.resolve(runtime);
      } catch (err) {
        this.#log.error("failed to resolve runtime path", { namespace: ns, id, error: normalize(err).message });
        await deleteBundle();
        continue;
      }
      await this.#loadShim(ctx, bundle, runtime, binary);
    }
  }

  /** Connects to the shim of a bundle and keeps it, or cleans it up as a dead shim. */
  async #loadShim(ctx: Context, bundle: Bundle, runtime: string, binary: string): Promise<void> {
    const { namespace, id } = bundle;
    let client: TtrpcClient | undefined;
    let log: ShimLogReader | undefined;
    let entry: Entry | undefined;
    try {
      const address = await readFile(bundle.file(BundleFile.Address), "utf8");
      client = await connectTtrpcClient(shimSocketPath(address), { timeoutMs: this.#loadTimeoutMs, signal: ctx.signal });
      log = openShimLog(bundle.file(BundleFile.Log), (line) => this.#shimLog(line, { namespace, id }));
      entry = this.#track(new ShimTask(client, { id, namespace, bundlePath: bundle.path, runtime }), bundle, binary, log);
      await entry.task.connect(ctx, { timeoutMs: this.#loadTimeoutMs });
      if (entry.deadCleanup !== undefined) throw new NotFoundError("shim disconnected while loading", { bare: true });
      this.#tasks.set(entry.key, entry);
      this.#log.info("re-adopted shim", { namespace, id, runtime });
    } catch (err) {
      this.#log.warn("failed to load shim", { namespace, id, error: normalize(err).message });
      if (entry !== undefined) {
        await this.#cleanupDeadShim(entry);
        return;
      }
      log?.close();
      await client?.close();
      await this.#runDelete(namespace, id, bundle, binary);
      await bundle.delete().catch((e: unknown) => this.#log.error("failed to delete bundle", { namespace, id, error: normalize(e).message }));
    }
  }

  async #cleanupWorkDirs(ns: string): Promise<void> {
    let dirs: { name: string; dir: boolean }[];
    try {
      dirs = await readDirNames(join(this.#root, ns));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    for (const d of dirs) {
      if (this.#tasks.has(keyOf(ns, d.name))) continue;
      const path = join(this.#root, ns, d.name);
      await rm(path, { recursive: true, force: true }).catch((err: unknown) =>
        this.#log.error("cleanup working dir", { path, error: normalize(err).message }),
      );
    }
  }
}
