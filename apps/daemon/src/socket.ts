/**
 * Unix socket handling for the daemon's gRPC and ttrpc endpoints: a stale socket file is replaced only when
 * nothing answers on it; a live one means another daemon owns the address.
 */
import { connect } from "node:net";
import { chmod, chown, lstat, mkdir, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError } from "@containerts/errdefs";

/** The longest unix socket path Linux accepts (sun_path is 108 bytes including the NUL). */
export const MAX_SOCKET_PATH = 107;

/** Resolves true when something accepts a connection on `path` within `timeoutMs`. */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (v: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(true), timeoutMs); // a listener that does not answer still owns it
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/**
 * Makes `path` ready for a new listener: creates the parent directory, refuses when another process is
 * serving on the socket, and removes a stale socket file.
 */
export async function prepareSocket(path: string): Promise<void> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new InvalidArgumentError(`socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes`);
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o711 });
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!st.isSocket()) throw new FailedPreconditionError(`${path} exists and is not a socket`);
  if (await socketAnswers(path)) {
    throw new AlreadyExistsError(`another daemon is serving on ${path}`);
  }
  await unlink(path);
}

/** Applies the socket's mode (0660) and owner after the listener bound it. */
export async function secureSocket(path: string, uid: number, gid: number): Promise<void> {
  await chmod(path, 0o660);
  if (uid !== 0 || gid !== 0) await chown(path, uid, gid);
}
