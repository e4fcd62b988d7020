/**
 * The long-running shim server: a child subreaper that serves `containerd.task.v2.Task` over ttrpc on the
 * socket inherited as fd 3 (or on `-socket`), publishes task events to `TTRPC_ADDRESS`, and exits when
 * Shutdown is accepted (no container left) or on SIGTERM/SIGINT, removing its socket.
 */
import { lstatSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "@containerts/errdefs";
import { closeFd, dupFd, setChildSubreaper } from "@containerts/sys";
import { createTtrpcServer } from "@containerts/ttrpc";
import * as net from "node:net";
import { isPathAddress, lingerMs, sharedShim, socketPath } from "./address.js";
import type { ShimFlags } from "./flags.js";
import { writeDeletedNote } from "./grpc/delete-response.js";
import { EventPublisher } from "./grpc/publisher.js";
import { registerTaskService } from "./grpc/server.js";
import { createLogger } from "./log.js";
import { Reaper } from "./reaper.js";
import { TaskService } from "./service.js";
import { RUNTIME_NAME } from "./version.js";

/** Environment variable naming the daemon's ttrpc address. */
export const TTRPC_ADDRESS_ENV = "TTRPC_ADDRESS";

/** The inherited listening socket. */
const LISTEN_FD = 3;

/**
 * Serves until shutdown; resolves with the exit code once everything is closed. A shared shim
 * (`CONTAINERTS_SHIM_SHARED`) does not exit at the Shutdown of its last container: it exits once it has
 * had no container and no new connection for `CONTAINERTS_SHIM_LINGER_MS`.
 */
export async function runServe(flags: ShimFlags, cwd: string = process.cwd()): Promise<number> {
  if (flags.namespace === "") throw new InvalidArgumentError("shim namespace cannot be empty");
  const loadedMs = Math.round(process.uptime() * 1000);
  const log = createLogger({ debug: flags.debug, fields: { runtime: RUNTIME_NAME, namespace: flags.namespace, pid: process.pid } });
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
  /** Removes the socket file if it is still ours (a new shim may have replaced a stale one). */
  const removeSocket = (): void => {
    if (socketFile === undefined) return;
    try {
      if (socketIno === undefined || lstatSync(socketFile).ino === socketIno) unlinkSync(socketFile);
    } catch {
      // gone already
    }
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
  const shared = sharedShim();
  const linger = lingerMs();
  let lastConnection = Date.now();
  let idleTimer: NodeJS.Timeout | undefined;
  const idleCheck = (): void => {
    idleTimer = undefined;
    if (service.size > 0 || service.busy) return; // the Shutdown after the next Delete checks again
    const idle = Date.now() - lastConnection;
    if (idle < linger) {
      idleTimer = setTimeout(idleCheck, linger - idle);
      return;
    }
    // Let the poll phase accept a connection that is already queued before deciding.
    setImmediate(() => {
      if (service.size === 0 && !service.busy && Date.now() - lastConnection >= linger) shutdown("idle");
      else if (service.size === 0) idleTimer = setTimeout(idleCheck, linger);
    });
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
        clearTimeout(idleTimer);
        idleTimer = setTimeout(idleCheck, linger);
      }),
    onDeleted: writeDeletedNote,
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
  // A shared shim that never gets a container (its start's Create failed) goes away on its own too.
  if (shared && linger > 0) idleTimer = setTimeout(idleCheck, linger);
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGPIPE", () => {});
  log.debug("serving", { socket: socketFile ?? flags.socket, loadedMs, uptimeMs: Math.round(process.uptime() * 1000) });
  return done;
}
