/**
 * Test harness for driving the built shim directly, the way containerd does: a fake daemon (a ttrpc
 * server receiving `Events/Forward` on a temp socket), OCI bundles with a busybox rootfs, FIFOs for
 * stdio, the `start` action, ttrpc clients, and a cleanup that removes every process, mount, runc
 * container and file the test created, even after a failure.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants, existsSync, openSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Any, Empty } from "@containerts/api/protobuf";
import { Options } from "@containerts/api/runc/options";
import {
  ConnectRequest,
  ConnectResponse,
  CreateTaskRequest,
  CreateTaskResponse,
  DeleteRequest,
  DeleteResponse,
  ExecProcessRequest,
  KillRequest,
  PauseRequest,
  PidsRequest,
  PidsResponse,
  ResizePtyRequest,
  ResumeRequest,
  ShutdownRequest,
  StartRequest,
  StartResponse,
  StateRequest,
  StateResponse,
  StatsRequest,
  StatsResponse,
  CloseIORequest,
  UpdateTaskRequest,
  WaitRequest,
  WaitResponse,
} from "@containerts/api/runtime/task/v2";
import { ForwardRequest } from "@containerts/api/services/ttrpc/events/v1";
import { type DecodedAny, RuncTypeUrl, decodeAny, packAny } from "@containerts/api/typeurl";
import { S_IFIFO, mknod } from "@containerts/sys";
import { writeBusyboxRootfs } from "@containerts/testimages";
import { mountsUnder, unmountUnder } from "@containerts/testkit";
import { type TtrpcClient, connectTtrpcClient, createTtrpcServer, type TtrpcServer, unaryHandler, unaryMethod } from "@containerts/ttrpc";

/** The shim program (built). */
export const shimBin = fileURLToPath(new URL("../../bin/containerd-shim-tsrunc-v1", import.meta.url));
/** The bundled program the bin loads. */
export const shimBundle = fileURLToPath(new URL("../../dist/bin/containerd-shim-tsrunc-v1.mjs", import.meta.url));

const T = "containerd.task.v2.Task";
/** Typed calls of `containerd.task.v2.Task`. */
export const task = {
  state: unaryMethod(T, "State", StateRequest, StateResponse),
  create: unaryMethod(T, "Create", CreateTaskRequest, CreateTaskResponse),
  start: unaryMethod(T, "Start", StartRequest, StartResponse),
  delete: unaryMethod(T, "Delete", DeleteRequest, DeleteResponse),
  pids: unaryMethod(T, "Pids", PidsRequest, PidsResponse),
  pause: unaryMethod(T, "Pause", PauseRequest, Empty),
  resume: unaryMethod(T, "Resume", ResumeRequest, Empty),
  kill: unaryMethod(T, "Kill", KillRequest, Empty),
  exec: unaryMethod(T, "Exec", ExecProcessRequest, Empty),
  resizePty: unaryMethod(T, "ResizePty", ResizePtyRequest, Empty),
  closeIO: unaryMethod(T, "CloseIO", CloseIORequest, Empty),
  update: unaryMethod(T, "Update", UpdateTaskRequest, Empty),
  wait: unaryMethod(T, "Wait", WaitRequest, WaitResponse),
  stats: unaryMethod(T, "Stats", StatsRequest, StatsResponse),
  connect: unaryMethod(T, "Connect", ConnectRequest, ConnectResponse),
  shutdown: unaryMethod(T, "Shutdown", ShutdownRequest, Empty),
};

/** An event received by the fake daemon. */
export interface ReceivedEvent {
  readonly namespace: string;
  readonly topic: string;
  readonly timestampSeconds: bigint;
  readonly typeUrl: string;
  readonly decoded: DecodedAny;
}

/** FIFOs a client would create for a process's stdio. */
export interface Fifos {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  /** Everything read from stdout so far, and a promise of all of it at EOF. */
  stdoutText(): string;
  readonly stdoutDone: Promise<string>;
  readonly stderrDone: Promise<string>;
  /** Opens the stdin FIFO for writing (after Create/Exec, once the shim reads it). */
  openStdin(): net.Socket;
}

/** Options of {@link Harness.bundle}. */
export interface BundleOptions {
  readonly args: readonly string[];
  readonly terminal?: boolean;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Give the container its own pid namespace (default true). */
  readonly pidNamespace?: boolean;
  /** Memory (and memory+swap) limit in bytes. */
  readonly memoryLimit?: number;
}

/** The test harness. */
export interface Harness {
  readonly dir: string;
  readonly namespace: string;
  /** The `-address` given to the shim (a fake daemon address; only hashed). */
  readonly daemonAddress: string;
  /** The fake daemon's ttrpc socket (`TTRPC_ADDRESS`). */
  readonly ttrpcAddress: string;
  readonly socketDir: string;
  /** runc `--root` parent passed in the Create options. */
  readonly runcRoot: string;
  /** The busybox rootfs that Create bind-mounts into bundles. */
  readonly rootfsSource: string;
  readonly events: ReceivedEvent[];
  /** The Create options Any naming {@link runcRoot}. */
  options(): ReturnType<typeof packAny>;
  /** Creates a bundle `<dir>/bundles/<id>` with config.json (from `runc spec`) and an empty rootfs dir. */
  bundle(id: string, o: BundleOptions): Promise<string>;
  /** Runs the shim's `start` action in the bundle; resolves with the printed address. */
  start(bundle: string, id: string, extraArgs?: readonly string[], env?: Readonly<Record<string, string>>): Promise<string>;
  /** Connects to a shim address; the client and the shim process are cleaned up later. */
  connect(address: string): Promise<{ client: TtrpcClient; shimPid: number }>;
  /** Creates stdio FIFOs for a process and starts reading its stdout and stderr. */
  fifos(name: string): Promise<Fifos>;
  /** Waits until an event matching `pred` arrived. */
  waitForEvent(pred: (e: ReceivedEvent) => boolean, timeoutMs?: number): Promise<ReceivedEvent>;
  /** Records a container id for cleanup (runc delete --force). */
  track(id: string): void;
  cleanup(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    // A zombie is gone for our purposes too.
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))) return true;
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

/** Creates the harness: temp dirs, the fake daemon's events server, the busybox rootfs. */
export async function createHarness(): Promise<Harness> {
  if (!existsSync(shimBundle)) throw new Error(`${shimBundle} is missing: run \`pnpm --filter @containerts/shim-runc build\` first`);
  const dir = await mkdtemp(join(tmpdir(), "tsrunc-"));
  const namespace = `tsrunc-${randomBytes(4).toString("hex")}`;
  const socketDir = join(dir, "s");
  const runcRoot = join(dir, "runc");
  const rootfsSource = join(dir, "rootfs-src");
  const ttrpcAddress = join(dir, "daemon.sock.ttrpc");
  const events: ReceivedEvent[] = [];
  const waiters = new Set<() => void>();
  const clients: TtrpcClient[] = [];
  const shimPids = new Set<number>();
  const ids = new Set<string>();
  const streams: net.Socket[] = [];
  const children: ChildProcess[] = [];
  await mkdir(socketDir, { recursive: true });
  await writeBusyboxRootfs(rootfsSource);
  const server: TtrpcServer = createTtrpcServer();
  server.register("containerd.services.events.ttrpc.v1.Events", {
    Forward: unaryHandler(ForwardRequest, Empty, (r) => {
      const env = r.envelope;
      if (env?.event !== undefined) {
        events.push({ namespace: env.namespace, topic: env.topic, timestampSeconds: env.timestamp?.seconds ?? 0n, typeUrl: env.event.typeUrl, decoded: decodeAny(env.event) });
        for (const w of waiters) w();
      }
      return {};
    }),
  });
  await server.listen(ttrpcAddress);

  const h: Harness = {
    dir,
    namespace,
    daemonAddress: join(dir, "daemon.sock"),
    ttrpcAddress,
    socketDir,
    runcRoot,
    rootfsSource,
    events,
    options: () => packAny(RuncTypeUrl.Options, Options.encode(Options.fromPartial({ root: runcRoot })).finish()),
    async bundle(id, o) {
      const bundle = join(dir, "bundles", id);
      await mkdir(join(bundle, "rootfs"), { recursive: true });
      const r = spawnSync("runc", ["spec", "--bundle", bundle], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`runc spec: ${r.stderr}`);
      const spec = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as {
        process: { terminal: boolean; args: string[] };
        root: { path: string; readonly: boolean };
        annotations?: Record<string, string>;
        linux: { namespaces: { type: string }[]; resources?: Record<string, unknown> };
      };
      spec.process.terminal = o.terminal ?? false;
      spec.process.args = [...o.args];
      spec.root = { path: "rootfs", readonly: false };
      if (o.annotations !== undefined) spec.annotations = { ...o.annotations };
      if (o.pidNamespace === false) spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== "pid");
      if (o.memoryLimit !== undefined) spec.linux.resources = { ...spec.linux.resources, memory: { limit: o.memoryLimit, swap: o.memoryLimit } };
      await writeFile(join(bundle, "config.json"), JSON.stringify(spec));
      ids.add(id);
      return bundle;
    },
    start(bundle, id, extraArgs = [], extraEnv = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(shimBin, ["-namespace", namespace, "-address", h.daemonAddress, "-id", id, ...extraArgs, "start"], {
          cwd: bundle,
          stdio: ["pipe", "pipe", "pipe"],
          env: { ...process.env, TTRPC_ADDRESS: ttrpcAddress, CONTAINERTS_SHIM_SOCKET_DIR: socketDir, ...extraEnv },
        });
        children.push(child);
        let out = "";
        let err = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
        child.stdin.end(Buffer.from(Any.encode(h.options()).finish()));
        child.once("error", reject);
        child.once("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`start exited ${code}: ${out}${err}`))));
      });
    },
    async connect(address) {
      const client = await connectTtrpcClient(address.replace(/^unix:\/\//, ""), { timeoutMs: 10_000 });
      clients.push(client);
      const { shimPid } = await task.connect(client, { id: "" });
      shimPids.add(shimPid);
      return { client, shimPid };
    },
    async fifos(name) {
      const base = join(dir, "fifos", name);
      await mkdir(base, { recursive: true });
      const paths = { stdin: join(base, "stdin"), stdout: join(base, "stdout"), stderr: join(base, "stderr") };
      for (const p of Object.values(paths)) mknod(p, S_IFIFO | 0o600);
      const reader = (path: string): { text: () => string; done: Promise<string> } => {
        const s = new net.Socket({ fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
        streams.push(s);
        let text = "";
        s.setEncoding("utf8").on("data", (d: string) => (text += d));
        const done = new Promise<string>((resolve) => {
          s.once("end", () => resolve(text));
          s.once("close", () => resolve(text));
        });
        return { text: () => text, done };
      };
      const out = reader(paths.stdout);
      const err = reader(paths.stderr);
      return {
        ...paths,
        stdoutText: out.text,
        stdoutDone: out.done,
        stderrDone: err.done,
        openStdin() {
          const s = new net.Socket({ fd: openSync(paths.stdin, constants.O_WRONLY | constants.O_NONBLOCK), readable: false, writable: true });
          streams.push(s);
          return s;
        },
      };
    },
    waitForEvent(pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const e = events.find(pred);
          if (e === undefined) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(e);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`event not received within ${timeoutMs} ms; got ${events.map((e) => e.topic).join(", ")}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    track(id) {
      ids.add(id);
    },
    async cleanup() {
      for (const c of clients) await c.close().catch(() => {});
      for (const s of streams) s.destroy();
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      for (const pid of shimPids) {
        if (alive(pid)) process.kill(pid, "SIGKILL");
        await waitGone(pid);
      }
      for (const id of ids) {
        spawnSync("runc", ["--root", join(runcRoot, namespace), "delete", "--force", id], { stdio: "ignore" });
      }
      await server.close();
      unmountUnder(dir);
      if (mountsUnder(dir).length > 0) throw new Error(`mounts left under ${dir}: ${mountsUnder(dir).join(", ")}`);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}
