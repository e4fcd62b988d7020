/**
 * Shim socket addresses, computed the way containerd's shims do: `unix://<dir>/<hex sha256 of
 * "<daemon address>/<namespace>/<grouping id>">`. Containers that share a grouping id (the
 * `io.containerd.runc.v2.group` annotation) therefore share one address, and one shim.
 */
import { createHash } from "node:crypto";
import { connect } from "node:net";
import { join } from "node:path";
import { InvalidArgumentError } from "@containerts/errdefs";

/**
 * Where this shim creates its sockets unless `CONTAINERTS_SHIM_SOCKET_DIR` says otherwise: containerts'
 * own state tree, so that nothing is shared with a stock containerd's `/run/containerd/s`. The name
 * hashes the daemon address, so shims of different daemons never collide.
 */
export const DEFAULT_SOCKET_DIR = "/run/containerts/s";

/** Environment variable that overrides {@link DEFAULT_SOCKET_DIR}. */
export const SOCKET_DIR_ENV = "CONTAINERTS_SHIM_SOCKET_DIR";

/** Longest socket path containerd accepts for a shim (`socketPathLimit`). */
export const SOCKET_PATH_LIMIT = 106;

/** OCI spec annotations that group containers into one shim, in order of precedence. */
export const GROUP_ANNOTATIONS = ["io.containerd.runc.v2.group", "io.kubernetes.cri.sandbox-id"] as const;

/** The socket directory: `CONTAINERTS_SHIM_SOCKET_DIR` or {@link DEFAULT_SOCKET_DIR}. */
export function socketDir(env: NodeJS.ProcessEnv = process.env): string {
  const d = env[SOCKET_DIR_ENV];
  return d !== undefined && d !== "" ? d : DEFAULT_SOCKET_DIR;
}

/**
 * The shim address for a daemon address, namespace and grouping id.
 * Throws InvalidArgumentError when the namespace is empty or the path would exceed the socket limit.
 */
export function socketAddress(daemonAddress: string, namespace: string, groupId: string, dir = socketDir()): string {
  if (namespace === "") throw new InvalidArgumentError("namespace is required");
  const digest = createHash("sha256").update(join(daemonAddress, namespace, groupId)).digest("hex");
  const path = join(dir, digest);
  if (path.length > SOCKET_PATH_LIMIT) {
    throw new InvalidArgumentError(`socket path ${path} is ${path.length} bytes, the limit is ${SOCKET_PATH_LIMIT}`);
  }
  return `unix://${path}`;
}

/**
 * Environment variable that chooses between the shared shim (the default: every container of a namespace,
 * per daemon, without a group annotation is served by one shim process, which stays
 * `CONTAINERTS_SHIM_LINGER_MS` after its last container in case another one comes) and one shim per
 * container (`0`, `false` or `no`). Set in the daemon's environment (shims inherit it).
 */
export const SHARED_ENV = "CONTAINERTS_SHIM_SHARED";

/** How long a shared shim waits, idle, for a next container (ms). */
export const LINGER_ENV = "CONTAINERTS_SHIM_LINGER_MS";

/** Default of {@link LINGER_ENV}. */
export const DEFAULT_LINGER_MS = 10_000;

/** The grouping id shared shims use. */
export const SHARED_GROUP = "containerts-shared-shim";

/** True unless the environment turns the shared shim off ({@link SHARED_ENV} set to 0/false/no). */
export function sharedShim(env: NodeJS.ProcessEnv = process.env): boolean {
  return !/^(0|false|no)$/i.test(env[SHARED_ENV] ?? "");
}

/**
 * The lock file beside a shared shim's socket (`<socket>.lock`). It holds the shim's pid. A `start` that
 * reuses the shim takes a shared flock on it and touches it; the shim decides to exit only under an
 * exclusive flock, and stays when the file was touched within its linger time, so a shim that a `start`
 * has just handed out cannot exit before the daemon connects.
 */
export function lockPath(socketFile: string): string {
  return `${socketFile}.lock`;
}

/** The idle time of a shared shim: {@link LINGER_ENV}, else {@link DEFAULT_LINGER_MS}. */
export function lingerMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env[LINGER_ENV]);
  return env[LINGER_ENV] !== undefined && env[LINGER_ENV] !== "" && Number.isFinite(v) && v >= 0 ? v : DEFAULT_LINGER_MS;
}

/**
 * The grouping id of a container: its group annotation; else {@link SHARED_GROUP} when `shared`; else its
 * own id.
 */
export function groupingId(id: string, annotations: Readonly<Record<string, string>> | undefined, shared = false): string {
  for (const key of GROUP_ANNOTATIONS) {
    const v = annotations?.[key];
    if (v !== undefined) return v;
  }
  return shared ? SHARED_GROUP : id;
}

/** The socket path of an address: `unix:///p` → `/p`; anything else names an abstract socket (`\0name`). */
export function socketPath(address: string): string {
  return address.startsWith("unix://") ? address.slice("unix://".length) : `\0${address}`;
}

/** True when the address is a path on the file system (not an abstract socket). */
export function isPathAddress(address: string): boolean {
  return address.startsWith("unix://");
}

/** Resolves true when something accepts connections at `address` within `timeoutMs`. */
export function canConnect(address: string, timeoutMs = 100): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socketPath(address));
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}
