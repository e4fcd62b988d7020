/**
 * File descriptors: closing, duplicating, and passing them over unix sockets (SCM_RIGHTS), which is how
 * runc hands a container's pty master to its caller (`--console-socket`).
 */
import { unlinkSync } from "node:fs";
import { InvalidArgumentError, UnavailableError } from "@containerts/errdefs";
import { SysError, cString } from "./errors.js";
import { allocBlock, libc, pollReadable, type PollWatcher } from "./internal/libc.js";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CTRUNC = 0x8;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const F_DUPFD_CLOEXEC = 1030;
const EINTR = 4;
const EAGAIN = 11;
const ECONNABORTED = 103;
const SUN_PATH_MAX = 108;
const LISTEN_BACKLOG = 16;

// struct msghdr / iovec / cmsghdr on 64-bit Linux.
const MSGHDR_SIZE = 56;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
const MSG_FLAGS = 48;
const IOVEC_SIZE = 16;
const CMSG_HDR_SIZE = 16;
const CMSG_SPACE = 256;
const DATA_SIZE = 4096;

/** Closes a file descriptor (close(2)). EINTR counts as closed, as Linux always releases the fd. Throws SysError EBADF. */
export function closeFd(fd: number): void {
  const c = libc();
  if (c.close(fd) !== 0) {
    const errno = c.errno();
    if (errno !== EINTR) throw new SysError(errno, "close");
  }
}

/** Duplicates a file descriptor onto the lowest free number, close-on-exec (fcntl F_DUPFD_CLOEXEC). Throws SysError. */
export function dupFd(fd: number): number {
  const c = libc();
  const r = c.fcntl(fd, F_DUPFD_CLOEXEC, "int", 0);
  if (r < 0) throw new SysError(c.errno(), "fcntl");
  return r;
}

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = 11;

/** What {@link tryFlock} does: take a shared or an exclusive lock, or release the one held. */
export type FlockOperation = "shared" | "exclusive" | "unlock";

/**
 * flock(2) without blocking: takes (or releases) an advisory lock on the open file `fd`. Returns false
 * when another open file description holds a conflicting lock (EWOULDBLOCK), true otherwise. The lock is
 * the same one the `flock(1)` command takes, so shell scripts and this process can coordinate through it.
 * Throws SysError (EBADF, EINVAL, ENOLCK).
 */
export function tryFlock(fd: number, operation: FlockOperation): boolean {
  const c = libc();
  const op = operation === "shared" ? LOCK_SH | LOCK_NB : operation === "exclusive" ? LOCK_EX | LOCK_NB : LOCK_UN;
  for (;;) {
    if (c.flock(fd, op) === 0) return true;
    const errno = c.errno();
    if (errno === EINTR) continue;
    if (errno === EWOULDBLOCK) return false;
    throw new SysError(errno, "flock");
  }
}

function sockaddrUn(path: string): Buffer {
  const bytes = Buffer.from(cString(path, "socket path"));
  if (bytes.length >= SUN_PATH_MAX) {
    throw new InvalidArgumentError(`socket path ${path} is ${bytes.length} bytes, the limit is ${SUN_PATH_MAX - 1}`);
  }
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, 2);
  return addr;
}

function unixSocket(nonblocking: boolean): number {
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) throw new SysError(c.errno(), "socket");
  return fd;
}

/** A msghdr with one iovec and a control buffer, in native memory. */
function messageBlock(dataSize: number) {
  const block = allocBlock(MSGHDR_SIZE + IOVEC_SIZE + CMSG_SPACE + dataSize);
  const iov = MSGHDR_SIZE;
  const control = iov + IOVEC_SIZE;
  const data = control + CMSG_SPACE;
  const b = block.bytes;
  b.writeBigUInt64LE(block.address + BigInt(iov), MSG_IOV);
  b.writeBigUInt64LE(1n, MSG_IOVLEN);
  b.writeBigUInt64LE(block.address + BigInt(control), MSG_CONTROL);
  b.writeBigUInt64LE(BigInt(CMSG_SPACE), MSG_CONTROLLEN);
  b.writeBigUInt64LE(block.address + BigInt(data), iov);
  b.writeBigUInt64LE(BigInt(dataSize), iov + 8);
  return { block, control, data };
}

/**
 * Connects to the unix socket at `socketPath` and sends `fd` with SCM_RIGHTS, with `name` as the
 * message's data (runc sends the pty's path; the receiver ignores it), then closes the connection.
 * The caller keeps its own `fd`. Throws SysError (`connect`, `sendmsg`).
 */
export function sendFd(socketPath: string, fd: number, name = "fd"): void {
  const c = libc();
  const addr = sockaddrUn(socketPath);
  const payload = Buffer.from(name === "" ? "\0" : name);
  const sock = unixSocket(false);
  const { block, control, data } = messageBlock(payload.length);
  try {
    if (c.connect(sock, addr, addr.length) !== 0) throw new SysError(c.errno(), "connect", { path: socketPath });
    const b = block.bytes;
    payload.copy(b, data);
    // One cmsghdr: len = header + one int, level SOL_SOCKET, type SCM_RIGHTS, then the fd.
    b.writeBigUInt64LE(BigInt(CMSG_HDR_SIZE + 4), control);
    b.writeInt32LE(SOL_SOCKET, control + 8);
    b.writeInt32LE(SCM_RIGHTS, control + 12);
    b.writeInt32LE(fd, control + CMSG_HDR_SIZE);
    b.writeBigUInt64LE(BigInt(CMSG_HDR_SIZE + 8), MSG_CONTROLLEN);
    for (;;) {
      if (c.sendmsg(sock, block.address, MSG_NOSIGNAL) >= 0) break;
      const errno = c.errno();
      if (errno !== EINTR) throw new SysError(errno, "sendmsg", { path: socketPath });
    }
  } finally {
    block.free();
    c.close(sock);
  }
}

/**
 * Listens on a new unix socket at `socketPath` (runc's `--console-socket`) and resolves with the first
 * file descriptor a peer sends over it with SCM_RIGHTS. The socket is listening when this function
 * returns, so the path can be handed to runc right away.
 *
 * Nothing blocks the event loop: the socket is non-blocking and watched by libuv. The socket file is
 * removed as soon as a peer is accepted, or when the call fails or is aborted; the path must not exist
 * beforehand (EADDRINUSE). The received fd is close-on-exec and belongs to the caller; any further fds
 * in the same message are closed.
 *
 * Rejects with SysError for failing calls, UnavailableError when the peer closes without sending a
 * descriptor, InvalidArgumentError for a path longer than 107 bytes, and the signal's reason on abort.
 */
export function receiveFdOnce(socketPath: string, signal?: AbortSignal): Promise<number> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const c = libc();
  let listenFd = -1;
  try {
    const addr = sockaddrUn(socketPath);
    listenFd = unixSocket(true);
    if (c.bind(listenFd, addr, addr.length) !== 0) throw new SysError(c.errno(), "bind", { path: socketPath });
  } catch (err) {
    if (listenFd >= 0) c.close(listenFd);
    return Promise.reject(err);
  }
  let bound = true;
  const unlinkSocket = () => {
    if (!bound) return;
    bound = false;
    try {
      unlinkSync(socketPath);
    } catch {
      // Already gone (or replaced by someone else): nothing of ours left to remove.
    }
  };
  if (c.listen(listenFd, LISTEN_BACKLOG) !== 0) {
    const err = new SysError(c.errno(), "listen", { path: socketPath });
    c.close(listenFd);
    unlinkSocket();
    return Promise.reject(err);
  }

  return new Promise<number>((resolvePromise, reject) => {
    let connFd = -1;
    let watcher: PollWatcher | undefined;
    let settled = false;
    const { block, control } = messageBlock(DATA_SIZE);

    const cleanup = () => {
      watcher?.close();
      watcher = undefined;
      signal?.removeEventListener("abort", onAbort);
      if (connFd >= 0) c.close(connFd);
      connFd = -1;
      if (listenFd >= 0) c.close(listenFd);
      listenFd = -1;
      unlinkSocket();
      block.free();
    };
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    };
    const succeed = (fd: number) => {
      if (settled) return;
      settled = true;
      cleanup();
      resolvePromise(fd);
    };
    const onAbort = () => fail(signal?.reason);

    const onReadable = (status: number) => {
      if (settled) return;
      if (status < 0) return fail(new SysError(-status, "recvmsg", { path: socketPath }));
      const b = block.bytes;
      b.writeBigUInt64LE(BigInt(CMSG_SPACE), MSG_CONTROLLEN);
      b.writeInt32LE(0, MSG_FLAGS);
      const n = c.recvmsg(connFd, block.address, MSG_CMSG_CLOEXEC);
      if (n < 0) {
        const errno = c.errno();
        if (errno === EAGAIN || errno === EINTR) return;
        return fail(new SysError(errno, "recvmsg", { path: socketPath }));
      }
      const fds = controlFds(b, control, Number(b.readBigUInt64LE(MSG_CONTROLLEN)));
      const truncated = (b.readInt32LE(MSG_FLAGS) & MSG_CTRUNC) !== 0;
      const [first, ...rest] = fds;
      for (const extra of rest) c.close(extra);
      if (first !== undefined && !truncated) return succeed(first);
      if (first !== undefined) c.close(first);
      if (truncated) return fail(new UnavailableError(`socket ${socketPath}: control message truncated`));
      if (n === 0) {
        return fail(new UnavailableError(`socket ${socketPath}: peer closed before sending a file descriptor`));
      }
      // Plain data without a descriptor: keep reading; the descriptor may come with a later message.
    };

    const onAcceptable = (status: number) => {
      if (settled) return;
      if (status < 0) return fail(new SysError(-status, "accept", { path: socketPath }));
      const fd = c.accept4(listenFd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        const errno = c.errno();
        if (errno === EAGAIN || errno === EINTR || errno === ECONNABORTED) return;
        return fail(new SysError(errno, "accept", { path: socketPath }));
      }
      connFd = fd;
      watcher?.close();
      c.close(listenFd);
      listenFd = -1;
      unlinkSocket();
      try {
        watcher = pollReadable(connFd, onReadable);
      } catch (err) {
        fail(err);
      }
    };

    try {
      watcher = pollReadable(listenFd, onAcceptable);
    } catch (err) {
      fail(err);
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The fds of every SCM_RIGHTS message in a control buffer of `length` bytes starting at `offset`. */
function controlFds(b: Buffer, offset: number, length: number): number[] {
  const fds: number[] = [];
  let pos = offset;
  const end = offset + Math.min(length, CMSG_SPACE);
  while (pos + CMSG_HDR_SIZE <= end) {
    const len = Number(b.readBigUInt64LE(pos));
    if (len < CMSG_HDR_SIZE || pos + len > end) break;
    if (b.readInt32LE(pos + 8) === SOL_SOCKET && b.readInt32LE(pos + 12) === SCM_RIGHTS) {
      for (let p = pos + CMSG_HDR_SIZE; p + 4 <= pos + len; p += 4) fds.push(b.readInt32LE(p));
    }
    pos += (len + 7) & ~7;
  }
  return fds;
}
