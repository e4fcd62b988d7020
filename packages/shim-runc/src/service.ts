/**
 * The shim's task service in domain terms: the containers this shim process serves (several, when they
 * share a grouping id), their processes, exit dispatch and task events. `grpc/server.ts` adapts it to
 * `containerd.task.v2.Task` over ttrpc.
 *
 * Exit dispatch: the reaper reports every reaped pid. A pid that belongs to a known process is handed to
 * it (its mutex orders the exit after a start in progress). While a `runc create`/`runc exec` is in
 * flight, exits of pids nobody has claimed yet are kept, because the new process may exit before its pid
 * file is read; they are dropped once no such call is pending.
 */
import { readFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, NotImplementedError, UnknownError } from "@containerts/errdefs";
import { mountAll, unmountAll } from "@containerts/sys";
import { type CgroupLocation, type CgroupV1Stats, type CgroupV2Stats, loadCgroup, statsV1, statsV2 } from "./cgroups.js";
import type { EventSink, Mount } from "./events.js";
import type { Logger } from "./log.js";
import { type RuncOptions, runcRoot, runtimeBinary, writeBundleOptions } from "./options.js";
import { ExecProcess, InitProcess, type ProcessEnv, type ProcessStatus, type ShimProcess } from "./process.js";
import type { Exit, Reaper } from "./reaper.js";
import { Runc } from "./runc.js";
import type { Stdio } from "./stdio.js";

/** A Create request. */
export interface CreateTaskOptions {
  readonly id: string;
  readonly bundle: string;
  readonly rootfs: readonly Mount[];
  readonly stdio: Stdio;
  readonly checkpoint: string;
  readonly parentCheckpoint: string;
  readonly options: RuncOptions;
}

/** An Exec request. */
export interface ExecOptions {
  readonly stdio: Stdio;
  /** The OCI process spec JSON bytes (`types.containerd.io/opencontainers/runtime-spec/1/Process`). */
  readonly spec: Uint8Array;
}

/** What State returns. */
export interface ProcessState {
  readonly id: string;
  readonly bundle: string;
  readonly pid: number;
  readonly status: ProcessStatus;
  readonly stdio: Stdio;
  readonly exitStatus: number;
  readonly exitedAt: Date | undefined;
  readonly execId: string;
}

/** The exit of a process (Delete, Wait). `exitedAt` is undefined while it runs. */
export interface ExitInfo {
  readonly pid: number;
  readonly exitStatus: number;
  readonly exitedAt: Date | undefined;
}

/** A pid in the container, with the exec it belongs to when it is an exec's process. */
export interface PidInfo {
  readonly pid: number;
  readonly execId?: string;
}

/** Cgroup statistics of a container. */
export type TaskStats = { readonly version: 1; readonly stats: CgroupV1Stats } | { readonly version: 2; readonly stats: CgroupV2Stats };

/** What the service needs. */
export interface TaskServiceOptions {
  readonly namespace: string;
  readonly reaper: Reaper;
  readonly events: EventSink;
  readonly log: Logger;
  /** Called when Shutdown is accepted (no container left). */
  readonly onShutdown: () => void;
  /**
   * Called after a container was deleted (runc container, I/O and rootfs gone), with its bundle and
   * exit; the server leaves a note there that makes a later `delete` action a no-op.
   */
  readonly onDeleted?: (bundle: string, exit: ExitInfo) => Promise<void>;
  /** Called once a container was created (registered), with its bundle. */
  readonly onCreated?: (bundle: string) => void;
}

const UNCLAIMED_MAX = 1024;

/** containerd's identifier rule (`identifiers.Validate`): ids name files in the bundle. */
const IDENTIFIER = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

function checkIdentifier(what: string, id: string): void {
  if (id.length === 0 || id.length > 76 || !IDENTIFIER.test(id)) throw new InvalidArgumentError(`${what} ${JSON.stringify(id)}: invalid identifier`);
}

/** One container served by this shim. */
class Container {
  readonly id: string;
  readonly bundle: string;
  readonly init: InitProcess;
  readonly execs = new Map<string, ExecProcess>();
  readonly reserved = new Set<string>();
  cgroup: CgroupLocation | undefined;
  oomKills = 0n;

  constructor(init: InitProcess) {
    this.id = init.id;
    this.bundle = init.bundle;
    this.init = init;
  }

  process(execId: string): ShimProcess {
    if (execId === "") return this.init;
    const p = this.execs.get(execId);
    if (p === undefined) throw new NotFoundError(`process does not exist ${execId}`);
    return p;
  }
}

/** True when the spec gives the container its own (new) pid namespace. */
export function hasPrivatePidNamespace(spec: unknown): boolean {
  const namespaces = (spec as { linux?: { namespaces?: unknown } } | undefined)?.linux?.namespaces;
  if (!Array.isArray(namespaces)) return false;
  return namespaces.some((n: unknown) => {
    const ns = n as { type?: unknown; path?: unknown };
    return ns.type === "pid" && (ns.path === undefined || ns.path === "");
  });
}

/** The task service of one shim process. */
export class TaskService {
  readonly #o: TaskServiceOptions;
  readonly #env: ProcessEnv;
  readonly #containers = new Map<string, Container>();
  readonly #creating = new Set<string>();
  readonly #byPid = new Map<number, ShimProcess>();
  readonly #unclaimed = new Map<number, Exit>();
  #pending = 0;
  readonly #unsubscribe: () => void;

  constructor(options: TaskServiceOptions) {
    this.#o = options;
    this.#env = {
      namespace: options.namespace,
      reaper: options.reaper,
      events: options.events,
      log: options.log,
      register: (pid, process) => {
        this.#byPid.set(pid, process);
        const early = this.#unclaimed.get(pid);
        if (early !== undefined) {
          this.#unclaimed.delete(pid);
          this.#byPid.delete(pid);
        }
        return early;
      },
    };
    this.#unsubscribe = options.reaper.subscribe((exit) => this.#onExit(exit));
  }

  /** Number of containers served. */
  get size(): number {
    return this.#containers.size;
  }

  /** True while a Create is in progress. */
  get busy(): boolean {
    return this.#creating.size > 0;
  }

  /** Stops listening for exits. */
  close(): void {
    this.#unsubscribe();
  }

  #onExit(exit: Exit): void {
    const p = this.#byPid.get(exit.pid);
    if (p === undefined) {
      if (this.#pending > 0 && this.#unclaimed.size < UNCLAIMED_MAX) this.#unclaimed.set(exit.pid, exit);
      return;
    }
    // The pid is free again once reaped: never let a later process with the same pid match this one.
    this.#byPid.delete(exit.pid);
    const c = this.#containers.get(p.containerId);
    if (c !== undefined) void this.#checkOom(c);
    p.handleExit(exit).catch((err: unknown) => this.#o.log.error("handle exit", { pid: exit.pid, id: p.id, error: err }));
  }

  /** Publishes `/tasks/oom` when the container's OOM-kill counter went up. */
  async #checkOom(c: Container): Promise<void> {
    const cg = c.cgroup;
    if (cg === undefined) return;
    try {
      let kills: bigint | undefined;
      if (cg.version === 1) {
        const dir = cg.paths["memory"];
        if (dir === undefined) return;
        const text = await readFile(join(dir, "memory.oom_control"), "utf8");
        const m = /^oom_kill (\d+)$/m.exec(text);
        kills = m === null ? undefined : BigInt(m[1]!);
      } else {
        const text = await readFile(join(cg.path, "memory.events"), "utf8");
        const m = /^oom_kill (\d+)$/m.exec(text);
        kills = m === null ? undefined : BigInt(m[1]!);
      }
      if (kills !== undefined && kills > c.oomKills) {
        c.oomKills = kills;
        this.#o.events.publish({ topic: "/tasks/oom", containerId: c.id });
      }
    } catch {
      // the cgroup is gone: nothing to report
    }
  }

  async #pendingCall<T>(fn: () => Promise<T>): Promise<T> {
    this.#pending++;
    try {
      return await fn();
    } finally {
      if (--this.#pending === 0) this.#unclaimed.clear();
    }
  }

  #container(id: string): Container {
    const c = this.#containers.get(id);
    if (c === undefined) throw new NotFoundError("container not created");
    return c;
  }

  /**
   * Create: mounts the rootfs into `<bundle>/rootfs`, writes `options.json` and `runtime`, and runs
   * `runc create`; queues `/tasks/create`. Errors: AlreadyExists for a container this shim already
   * serves; NotImplemented for a checkpoint restore; Unknown for mount and runc failures.
   */
  async create(r: CreateTaskOptions): Promise<number> {
    checkIdentifier("container id", r.id);
    if (this.#containers.has(r.id) || this.#creating.has(r.id)) throw new AlreadyExistsError(`container ${r.id}`);
    if (r.checkpoint !== "") throw new NotImplementedError("restoring a checkpoint");
    this.#creating.add(r.id);
    const t0 = Date.now();
    this.#o.log.debug("create", { id: r.id, bundle: r.bundle, rootfs: r.rootfs.length, terminal: r.stdio.terminal });
    let rootfs = "";
    let registered = false;
    try {
      let spec: unknown;
      try {
        spec = JSON.parse(await readFile(join(r.bundle, "config.json"), "utf8"));
      } catch {
        spec = undefined; // runc reports a missing or broken config.json itself
      }
      if (r.rootfs.length > 0) {
        rootfs = join(r.bundle, "rootfs");
        await mkdir(rootfs, { recursive: true, mode: 0o711 });
        try {
          mountAll(r.rootfs.map((m) => ({ type: m.type, source: m.source, target: m.target, options: [...m.options] })), rootfs);
        } catch (err) {
          throw new UnknownError(`failed to mount rootfs component: ${err instanceof Error ? err.message : String(err)}`, { cause: err, bare: true });
        }
      }
      await writeBundleOptions(r.bundle, r.options);
      const runc = new Runc(
        { command: runtimeBinary(r.options), root: runcRoot(r.options, this.#o.namespace), log: join(r.bundle, "log.json"), systemdCgroup: r.options.systemdCgroup },
        this.#o.reaper,
      );
      const { process: init, early } = await this.#pendingCall(() =>
        InitProcess.create(
          {
            id: r.id,
            bundle: r.bundle,
            rootfs,
            stdio: r.stdio,
            runc,
            noPivotRoot: r.options.noPivotRoot,
            noNewKeyring: r.options.noNewKeyring,
            killAllOnExit: !hasPrivatePidNamespace(spec),
            ioUid: r.options.ioUid,
            ioGid: r.options.ioGid,
          },
          this.#env,
        ),
      );
      // No await between the pid's registration (in InitProcess.create) and the create event: an exit of
      // the new process can only be handled after it.
      const c = new Container(init);
      this.#containers.set(r.id, c);
      registered = true;
      this.#o.events.publish({
        topic: "/tasks/create",
        containerId: r.id,
        bundle: r.bundle,
        rootfs: r.rootfs,
        io: { stdin: r.stdio.stdin, stdout: r.stdio.stdout, stderr: r.stdio.stderr, terminal: r.stdio.terminal },
        checkpoint: r.checkpoint,
        pid: init.pid,
      });
      c.cgroup = await loadCgroup(init.pid).catch(() => undefined);
      if (early !== undefined) await init.handleExit(early);
      this.#o.onCreated?.(r.bundle);
      this.#o.log.debug("created", { id: r.id, pid: init.pid, ms: Math.round(Date.now() - t0) });
      return init.pid;
    } catch (err) {
      if (rootfs !== "" && !registered) {
        try {
          unmountAll(rootfs);
        } catch (e) {
          this.#o.log.warn("failed to cleanup rootfs mount", { id: r.id, error: e });
        }
      }
      throw err;
    } finally {
      this.#creating.delete(r.id);
    }
  }

  /** Start of the init process or of an exec; resolves with its pid. */
  async start(id: string, execId: string): Promise<number> {
    const c = this.#container(id);
    const p = c.process(execId);
    const t0 = Date.now();
    if (p instanceof InitProcess) {
      await p.start();
      this.#o.log.debug("started", { id, pid: p.pid, ms: Math.round(Date.now() - t0) });
      if (c.cgroup === undefined) c.cgroup = await loadCgroup(p.pid).catch(() => undefined);
    } else {
      await this.#pendingCall(() => (p as ExecProcess).start());
    }
    return p.pid;
  }

  /**
   * Delete of the container (init: `runc delete`, I/O, rootfs; queues `/tasks/delete` and forgets the
   * container) or of an exec (no event).
   */
  async delete(id: string, execId: string): Promise<ExitInfo> {
    const c = this.#container(id);
    const p = c.process(execId);
    if (p instanceof ExecProcess) {
      await p.delete();
      c.execs.delete(execId);
    } else {
      await c.init.delete();
      this.#containers.delete(id);
      for (const [pid, proc] of this.#byPid) if (proc.containerId === id) this.#byPid.delete(pid);
      this.#o.events.publish({ topic: "/tasks/delete", containerId: id, pid: p.pid, exitStatus: p.exitStatus, exitedAt: p.exitedAt });
      await this.#o.onDeleted?.(c.bundle, { pid: p.pid, exitStatus: p.exitStatus, exitedAt: p.exitedAt }).catch((err: unknown) => this.#o.log.warn("write delete note", { id, error: err }));
    }
    return { pid: p.pid, exitStatus: p.exitStatus, exitedAt: p.exitedAt };
  }

  /** The container's pids (`runc ps`), with the exec id of exec'd processes. */
  async pids(id: string): Promise<PidInfo[]> {
    const c = this.#container(id);
    const pids = await c.init.runc.ps(id);
    const execs = new Map<number, string>();
    for (const e of c.execs.values()) if (e.pid !== 0) execs.set(e.pid, e.id);
    return pids.map((pid) => {
      const execId = execs.get(pid);
      return execId === undefined ? { pid } : { pid, execId };
    });
  }

  /** Pause; queues `/tasks/paused`. */
  async pause(id: string): Promise<void> {
    const c = this.#container(id);
    await c.init.pause();
    this.#o.events.publish({ topic: "/tasks/paused", containerId: id });
  }

  /** Resume; queues `/tasks/resumed`. */
  async resume(id: string): Promise<void> {
    const c = this.#container(id);
    await c.init.resume();
    this.#o.events.publish({ topic: "/tasks/resumed", containerId: id });
  }

  /** Sends `signal` to a process (`all`: every process of the container, for init). */
  async kill(id: string, execId: string, signal: number, all: boolean): Promise<void> {
    const c = this.#container(id);
    await c.process(execId).kill(signal, all);
  }

  /**
   * Adds an exec process (created, not started); queues `/tasks/exec-added`.
   * Errors: AlreadyExists `id <exec id>`; InvalidArgument for a spec that is not a JSON object; the
   * init's refusal in the paused, stopped and deleted states.
   */
  async exec(id: string, execId: string, o: ExecOptions): Promise<void> {
    const c = this.#container(id);
    checkIdentifier("exec id", execId);
    if (c.execs.has(execId) || c.reserved.has(execId)) throw new AlreadyExistsError(`id ${execId}`);
    c.reserved.add(execId);
    try {
      c.init.checkExec();
      let spec: unknown;
      try {
        spec = JSON.parse(Buffer.from(o.spec).toString("utf8"));
      } catch (cause) {
        throw new InvalidArgumentError(`exec ${execId}: process spec is not valid json`, { cause });
      }
      if (typeof spec !== "object" || spec === null || Array.isArray(spec)) throw new InvalidArgumentError(`exec ${execId}: process spec is not a json object`);
      c.execs.set(execId, new ExecProcess(execId, c.init, spec as Record<string, unknown>, o.stdio, this.#env, c.init.ioOwner));
    } finally {
      c.reserved.delete(execId);
    }
    this.#o.events.publish({ topic: "/tasks/exec-added", containerId: id, execId });
  }

  /** Resizes a process's pty. */
  resizePty(id: string, execId: string, width: number, height: number): void {
    this.#container(id).process(execId).resize(width, height);
  }

  /** The state of a process. */
  state(id: string, execId: string): ProcessState {
    const c = this.#container(id);
    const p = c.process(execId);
    return { id: p.id, bundle: c.bundle, pid: p.pid, status: p.status(), stdio: p.stdio, exitStatus: p.exitStatus, exitedAt: p.exitedAt, execId };
  }

  /** CloseIO: drops the shim's stdin writer of the process (containerd does so whatever `stdin` says). */
  closeIO(id: string, execId: string): void {
    this.#container(id).process(execId).closeStdin();
  }

  /** Update with LinuxResources JSON. */
  async update(id: string, resources: Uint8Array): Promise<void> {
    await this.#container(id).init.update(Buffer.from(resources).toString("utf8"));
  }

  /** Resolves when the process has exited, before or after the call. */
  async wait(id: string, execId: string): Promise<ExitInfo> {
    const p = this.#container(id).process(execId);
    await p.wait();
    return { pid: p.pid, exitStatus: p.exitStatus, exitedAt: p.exitedAt };
  }

  /** Cgroup statistics. Errors: NotFound `cgroup does not exist`. */
  async stats(id: string): Promise<TaskStats> {
    const c = this.#container(id);
    const cg = c.cgroup;
    if (cg === undefined) throw new NotFoundError("cgroup does not exist");
    if (cg.version === 1) return { version: 1, stats: await statsV1(cg.paths) };
    return { version: 2, stats: await statsV2(cg.path) };
  }

  /** Checkpoint is not supported by this shim. */
  checkpoint(id: string): never {
    this.#container(id);
    throw new NotImplementedError("checkpoint");
  }

  /** Connect: the init pid of `id` (0 when this shim does not serve it). */
  connect(id: string): number {
    return this.#containers.get(id)?.init.pid ?? 0;
  }

  /** Shutdown: accepted (and `onShutdown` called) only when no container is left. */
  shutdown(): boolean {
    if (this.#containers.size > 0 || this.#creating.size > 0) return false;
    this.#o.onShutdown();
    return true;
  }
}
