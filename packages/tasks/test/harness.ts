/**
 * An in-process tasks stack for the service-level tests: a gRPC server on a unix socket in a temp dir
 * serving the containers service (over an in-memory store) and the tasks service (over a real
 * {@link ShimManager}), a ttrpc server recording the events shims forward, and the proxies the tests drive.
 * `close()` removes everything, also after failures: tasks through the API, then leftover shims by PID,
 * runc state, mounts and the temp dir.
 */
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Server, ServerCredentials, credentials } from "@grpc/grpc-js";
import { SPEC_TYPE_URL, createContainerService, specAny, type Container } from "@containerts/containers";
import { createContainersServer } from "@containerts/containers/grpc";
import { ProxyContainerStore } from "@containerts/containers/proxy";
import { discardPublisher } from "@containerts/events";
import { background, withNamespace, type Context } from "@containerts/namespaces";
import { createTtrpcServer, unaryHandler, type TtrpcServer } from "@containerts/ttrpc";
import { Envelope, ForwardRequest } from "@containerts/api/services/ttrpc/events/v1";
import { Empty } from "@containerts/api/protobuf";
import { decodeAny } from "@containerts/api/typeurl";
import { ShimManager } from "../src/runtime/index.js";
import { createTaskService } from "../src/local/index.js";
import { createTasksServer } from "../src/grpc/index.js";
import { ProxyTaskService } from "../src/proxy/index.js";
import type { Mount, TaskService } from "../src/index.js";
import { MemoryContainerStore } from "./memory-containers.js";
import { busyboxSpec } from "../src/testsuite/index.js";
import { cleanupCgroups, cleanupRunc, killPids, makeBusyboxRootfs, shimPidsFor, unmountUnder, waitFor } from "../src/testsuite/index.js";

/** The stock shim's runtime name. */
export const RUNC_V2 = "io.containerd.runc.v2";
/** Our shim's runtime name. */
export const TSRUNC_V1 = "io.containerts.tsrunc.v1";

/** The directory holding our shim's binary (`containerd-shim-tsrunc-v1`). */
export const tsShimBinDir = resolve(new URL("../../shim-runc/bin", import.meta.url).pathname);

/** An event a shim forwarded. */
export interface RecordedEvent {
  readonly namespace: string;
  readonly topic: string;
  readonly typeUrl: string;
  readonly message: Record<string, unknown>;
}

export interface Harness {
  readonly dir: string;
  readonly rootfs: string;
  readonly namespace: string;
  readonly ctx: Context;
  readonly address: string;
  readonly containers: ProxyContainerStore;
  readonly tasks: ProxyTaskService;
  /** The service itself (in-process), for calls the proxy cannot make. */
  readonly service: TaskService;
  readonly manager: ShimManager;
  readonly events: RecordedEvent[];
  /** Creates a container record through the containers proxy. */
  container(id: string, args: readonly string[], options?: { runtime?: string; spec?: Uint8Array }): Promise<Container>;
  /** Overlay mounts over the busybox rootfs for `id` (a fresh upper and work dir, like a snapshot). */
  rootfsMounts(id: string): Promise<Mount[]>;
  /** `file://` URI of a log file for `id`'s stdout+stderr, and a reader of it. */
  logUri(name: string): string;
  readLog(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Serves the ttrpc events service (`Forward`) on `path`, recording what shims forward into `events`.
 */
export async function startEventRecorder(path: string, events: RecordedEvent[]): Promise<TtrpcServer> {
  const server = createTtrpcServer();
  server.register("containerd.services.events.ttrpc.v1.Events", {
    Forward: unaryHandler(ForwardRequest, Empty, async (req) => {
      const env = req.envelope ?? Envelope.fromPartial({});
      let message: Record<string, unknown> = {};
      let typeUrl = env.event?.typeUrl ?? "";
      try {
        if (env.event !== undefined) {
          const d = decodeAny(env.event);
          typeUrl = d.typeUrl;
          message = d.message as Record<string, unknown>;
        }
      } catch {
        // keep the type URL only
      }
      events.push({ namespace: env.namespace, topic: env.topic, typeUrl, message });
      return {};
    }),
  });
  await server.listen(path);
  return server;
}

/** Starts the stack. `env` is the shims' environment (PATH must find the shim binaries). */
export async function startHarness(options: { env?: Record<string, string | undefined> } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "cts-tasks-"));
  const namespace = `tt${process.pid}x${Math.floor(Math.random() * 1e6)}`;
  const ctx = withNamespace(background(), namespace);
  const rootfs = join(dir, "busybox");
  const events: RecordedEvent[] = [];
  const grpcServer = new Server();
  let ttrpc: TtrpcServer | undefined;
  let manager: ShimManager | undefined;
  let containers: ProxyContainerStore | undefined;
  let tasks: ProxyTaskService | undefined;
  const address = join(dir, "grpc.sock");
  const ttrpcAddress = `${address}.ttrpc`;
  const ids = new Set<string>();

  const close = async () => {
    if (tasks !== undefined) {
      for (const id of ids) {
        await tasks.kill(ctx, { containerId: id, signal: 9, all: true }).catch(() => undefined);
        await tasks.delete(ctx, id).catch(() => undefined);
      }
    }
    await manager?.close();
    killPids(shimPidsFor(address));
    await waitFor(() => shimPidsFor(address).length === 0, 5000);
    await cleanupRunc(namespace);
    cleanupCgroups(namespace);
    containers?.close();
    tasks?.close();
    grpcServer.forceShutdown();
    await ttrpc?.shutdown().catch(() => undefined);
    unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await makeBusyboxRootfs(rootfs);
    ttrpc = await startEventRecorder(ttrpcAddress, events);

    const store = new MemoryContainerStore();
    manager = await ShimManager.open({
      root: join(dir, "root", "io.containerd.runtime.v2.task"),
      state: join(dir, "state", "io.containerd.runtime.v2.task"),
      address,
      ttrpcAddress,
      publishBinary: "/bin/false",
      env: options.env ?? process.env,
      containers: store,
      publisher: discardPublisher,
    });
    const service = createTaskService({ containers: store, runtime: manager });
    createContainersServer(createContainerService(store, discardPublisher)).register(grpcServer);
    createTasksServer(service).register(grpcServer);
    await new Promise<void>((res, rej) =>
      grpcServer.bindAsync(`unix://${address}`, ServerCredentials.createInsecure(), (err) => (err ? rej(err) : res())),
    );
    const target = { address: `unix://${address}`, credentials: credentials.createInsecure(), options: {} };
    containers = new ProxyContainerStore(target);
    tasks = new ProxyTaskService(target);
    const m = manager;
    const c = containers;
    const t = tasks;
    return {
      dir,
      rootfs,
      namespace,
      ctx,
      address,
      containers: c,
      tasks: t,
      service,
      manager: m,
      events,
      async container(id, args, opts = {}) {
        ids.add(id);
        const spec = opts.spec === undefined ? specAny(busyboxSpec(namespace, id, args)) : { typeUrl: SPEC_TYPE_URL, value: opts.spec };
        return c.create(ctx, { id, runtime: { name: opts.runtime ?? RUNC_V2 }, spec });
      },
      async rootfsMounts(id) {
        const snap = join(dir, "snapshots", id);
        await mkdir(join(snap, "fs"), { recursive: true });
        await mkdir(join(snap, "work"), { recursive: true });
        return [
          { type: "overlay", source: "overlay", target: "", options: [`workdir=${snap}/work`, `upperdir=${snap}/fs`, `lowerdir=${rootfs}`] },
        ];
      },
      logUri: (name) => `file://${join(dir, "logs", `${name}.log`)}`,
      async readLog(name) {
        const { readFile } = await import("node:fs/promises");
        return readFile(join(dir, "logs", `${name}.log`), "utf8").catch(() => "");
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
