/**
 * The long-running shim server: a child subreaper that serves `containerd.task.v2.Task` over ttrpc on the
 * socket inherited as fd 3 (or on `-socket`), publishes task events to `TTRPC_ADDRESS`, and exits when
 * Shutdown is accepted (no container left) or on SIGTERM/SIGINT, removing its socket.
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "@containerts/errdefs";
import { closeFd, dupFd, setChildSubreaper, tryFlock } from "@containerts/sys";
import { createTtrpcServer } from "@containerts/ttrpc";
import * as net from "node:net";
import { isPathAddress, lingerMs, lockPath, sharedShim, socketPath } from "./address.js";
import type { ShimFlags } from "./flags.js";
import { writeDeletedNote } from "./grpc/delete-response.js";
import { EventPublisher } from "./grpc/publisher.js";
import { registerTaskService } from "./grpc/server.js";
import { type LogSink, createLogger } from "./log.js";
import { Reaper } from "./reaper.js";
import { TaskService } from "./service.js";
import { RUNTIME_NAME } from "./version.js";

/** Environment variable naming the daemon's ttrpc address. */
export const TTRPC_ADDRESS_ENV = "TTRPC_ADDRESS";

/** The inherited listening socket. */
const LISTEN_FD = 3;

/** How often an idle shared shim looks whether its daemon is still there (its ttrpc socket file). */
const DAEMON_POLL_MS = 1000;

/** Writes our pid into the shared shim's lock file (atomically: a `start` may read it at any time). */
function writeLockFile(path: string): number | undefined {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, String(process.pid), { mode: 0o600 });
    renameSync(tmp, path);
    return lstatSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Removes `path` if it is still the file `ino` (another shim may have replaced it since). */
function unlinkIfSame(path: string, ino: number | undefined): void {
  try {
    if (ino === undefined || lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // gone already
  }
}

/**
 * Serves until shutdown; resolves with the exit code once everything is closed. A shared shim
 * (`CONTAINERTS_SHIM_SHARED`, the default) does not exit at the Shutdown of its last container: it exits
 * once it has had no container, no new connection and no `start` handing it out (a touch of its lock
 * file) for `CONTAINERTS_SHIM_LINGER_MS`, or for a second once its daemon's ttrpc socket is gone. It
 * decides under an exclusive flock of the lock file, which a reusing `start` holds shared while it
 * checks the shim and touches the file.
 */
export async function runServe(flags: ShimFlags, cwd: string = process.cwd()): Promise<number> {
  if (flags.namespace === "") throw new InvalidArgumentError("shim namespace cannot be empty");
  const loadedMs = Math.round(process.uptime() * 1000);
  const logs = new LogRouter(cwd);
  const log = createLogger({ sink: logs.sink, debug: flags.debug, fields: { runtime: RUNTIME_NAME, namespace: flags.namespace, pid: process.pid } });
  setChildSubreaper();
  const reaper = new Reaper(log);
  reaper.start();
  const publisher = new EventPublisher({ address: process.env[TTRPC_ADDRESS_ENV] ?? "", namespace: flags.namespace, log });

  // The socket to remove on exit: -socket, else the address `start` wrote into the bundle.
  let socketFile: string | undefined;
  if (flags.socket !== "") {
    socketFile = flags.socket;
  } else {
    try {
      const address = readFileSync(join(cwd, "address"), "utf8").trim();
      if (isPathAddress(address)) socketFile = socketPath(address);
    } catch {
      socketFile = undefined;
    }
  }

  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  let stopping = false;
  let socketIno: number | undefined;
  const shared = sharedShim();
  const lockFile = shared && socketFile !== undefined ? lockPath(socketFile) : undefined;
  let lockIno: number | undefined;
  /** Removes the socket file and the lock file if they are still ours (a new shim may have replaced them). */
  const removeSocket = (): void => {
    if (socketFile !== undefined) unlinkIfSame(socketFile, socketIno);
    if (lockFile !== undefined && lockIno !== undefined) unlinkIfSame(lockFile, lockIno);
  };
  const server = createTtrpcServer({ onError: (err) => log.warn("ttrpc connection error", { error: err }) });
  const shutdown = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { reason });
    // Unlink first: from now on a `start` cannot reach this shim and starts a new one.
    removeSocket();
    void (async () => {
      await server.shutdown({ signal: AbortSignal.timeout(5000) }).catch(() => server.close());
      clearTimeout(idleTimer);
      service.close();
      reaper.stop();
      await publisher.close(5000);
      finish(0);
    })();
  };
  const linger = lingerMs();
  const daemonSocket = daemonSocketFile(process.env[TTRPC_ADDRESS_ENV] ?? "");
  let lastConnection = Date.now();
  let idleTimer: NodeJS.Timeout | undefined;
  const idleLater = (ms: number): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(idleCheck, Math.max(1, Math.min(ms, DAEMON_POLL_MS)));
  };
  /** How long this shim stays idle: its linger time, at most a second once its daemon is gone. */
  const window = (): number => (daemonSocket !== undefined && !existsSync(daemonSocket) ? Math.min(linger, DAEMON_POLL_MS) : linger);
  const idleCheck = (): void => {
    idleTimer = undefined;
    if (stopping || service.size > 0 || service.busy) return; // the Shutdown after the next Delete checks again
    const idle = Date.now() - lastConnection;
    if (idle < window()) {
      idleLater(window() - idle);
      return;
    }
    // Let the poll phase accept a connection that is already queued before deciding.
    setImmediate(exitIfIdle);
  };
  /** Exits when still idle, deciding under the lock file's exclusive flock (see runServe). */
  const exitIfIdle = (): void => {
    if (stopping || service.size > 0 || service.busy) return;
    let fd: number | undefined;
    if (lockFile !== undefined && lockIno !== undefined) {
      try {
        fd = openSync(lockFile, "r");
      } catch {
        fd = undefined; // removed: no `start` can find this shim any more
      }
    }
    try {
      if (fd !== undefined && !tryFlock(fd, "exclusive")) {
        idleLater(10); // a `start` is looking at this shim right now
        return;
      }
      const touched = fd !== undefined && fstatSync(fd).ino === lockIno ? fstatSync(fd).mtimeMs : 0;
      const idle = Date.now() - Math.max(lastConnection, touched);
      if (idle < window()) {
        idleLater(window() - idle);
        return;
      }
      // Unlink under the lock: a `start` that gets the lock next finds no socket and starts a new shim.
      shutdown("idle");
    } finally {
      if (fd !== undefined) closeSync(fd); // releases the flock
    }
  };
  const service = new TaskService({
    namespace: flags.namespace,
    reaper,
    events: publisher,
    log,
    onShutdown: () =>
      setImmediate(() => {
        if (!shared || linger === 0) {
          shutdown("shutdown requested");
          return;
        }
        idleLater(linger);
      }),
    onCreated: (bundle) => logs.created(bundle),
    onDeleted: async (bundle, exit) => {
      logs.deleted(bundle);
      await writeDeletedNote(bundle, exit);
    },
  });
  registerTaskService(server, service);

  const listener = net.createServer();
  listener.on("connection", () => (lastConnection = Date.now()));
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    if (flags.socket !== "") {
      listener.listen({ path: flags.socket }, resolve);
    } else {
      // Do not leak the listening socket into runc and container processes: serve a close-on-exec copy.
      const fd = dupFd(LISTEN_FD);
      closeFd(LISTEN_FD);
      listener.listen({ fd }, resolve);
    }
  });
  await server.listen(listener);
  if (socketFile !== undefined) {
    try {
      socketIno = lstatSync(socketFile).ino;
    } catch {
      socketIno = undefined;
    }
  }
  if (lockFile !== undefined) lockIno = writeLockFile(lockFile);
  // A shared shim that never gets a container (its start's Create failed) goes away on its own too.
  if (shared && linger > 0) idleLater(linger);
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGPIPE", () => {});
  log.debug("serving", { socket: socketFile ?? flags.socket, loadedMs, uptimeMs: Math.round(process.uptime() * 1000) });
  return done;
}

/** The socket file of the daemon's ttrpc address (`unix://` prefix or a plain path); undefined for none. */
function daemonSocketFile(address: string): string | undefined {
  const path = address.startsWith("unix://") ? address.slice("unix://".length) : address;
  return path.startsWith("/") ? path : undefined;
}

/**
 * Where a shim serving several containers logs. Its stderr is the `log` FIFO of the bundle it was started
 * in, which the daemon reads only while that container exists; once the container is deleted (or if its
 * Create failed) lines go to the `log` FIFO of another live container (opened write-only, non-blocking),
 * and are dropped while there is none. The daemon attributes each FIFO's lines to its container.
 */
class LogRouter {
  readonly sink: LogSink = { fd: 2 };
  readonly #live = new Set<string>();
  /** The bundle whose FIFO the sink writes to (undefined: none). */
  #bundle: string | undefined;

  constructor(startBundle: string) {
    this.#bundle = startBundle;
  }

  created(bundle: string): void {
    this.#live.add(bundle);
    if (this.#bundle !== undefined && this.#live.has(this.#bundle)) return;
    this.#switch([bundle]);
  }

  deleted(bundle: string): void {
    this.#live.delete(bundle);
    if (bundle === this.#bundle) this.#switch([...this.#live]);
  }

  #switch(candidates: readonly string[]): void {
    if (this.sink.fd > 2) closeSync(this.sink.fd);
    this.sink.fd = -1;
    this.#bundle = undefined;
    for (const b of candidates) {
      try {
        this.sink.fd = openSync(join(b, "log"), constants.O_WRONLY | constants.O_NONBLOCK);
        this.#bundle = b;
        return;
      } catch {
        // no reader on that FIFO (or no FIFO): try the next
      }
    }
  }
}
