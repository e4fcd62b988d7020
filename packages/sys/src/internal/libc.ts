/**
 * The libc functions this package calls, bound through koffi on first use.
 *
 * Nothing is loaded at import time (the package declares `sideEffects: false`): koffi's native addon is
 * required, and `libc.so.6` loaded with its prototypes declared, the first time a wrapper needs them; the
 * same bindings are returned afterwards. The cache holds immutable handles, not program state.
 *
 * errno is read through `__errno_location()` immediately after the failing call, in the same synchronous
 * tick, so no other native code on this thread can overwrite it in between.
 */
import { createRequire } from "node:module";
import { InternalError } from "@containerts/errdefs";

type Koffi = typeof import("koffi");

/** A pointer as koffi 3 represents it. */
export type Pointer = bigint;

/** The libc calls used by this package, typed. Variadic ones take koffi's `(type, value)` pairs. */
export interface Libc {
  readonly mount: (source: string, target: string, fstype: string, flags: number, data: string | null) => number;
  readonly umount2: (target: string, flags: number) => number;
  readonly mknod: (path: string, mode: number, dev: bigint) => number;
  readonly lsetxattr: (path: string, name: string, value: Uint8Array, size: number, flags: number) => number;
  readonly lgetxattr: (path: string, name: string, value: Uint8Array | null, size: number) => number;
  readonly llistxattr: (path: string, list: Uint8Array | null, size: number) => number;
  readonly lremovexattr: (path: string, name: string) => number;
  readonly prctl: (option: number, ...rest: unknown[]) => number;
  readonly syscall: (nr: number, ...rest: unknown[]) => number;
  readonly waitpid: (pid: number, status: Int32Array, options: number) => number;
  readonly waitid: (idtype: number, id: number, info: Uint8Array, options: number) => number;
  readonly getpgid: (pid: number) => number;
  readonly setsid: () => number;
  readonly close: (fd: number) => number;
  readonly flock: (fd: number, operation: number) => number;
  readonly pipe2: (fds: Int32Array, flags: number) => number;
  readonly posix_spawn: ((pid: number[], path: string, actions: Uint8Array, attr: Uint8Array, argv: (string | null)[], envp: (string | null)[]) => number) & {
    /** The same call on a libuv pool thread (koffi's asynchronous calls). */
    async(
      pid: number[],
      path: string,
      actions: Uint8Array,
      attr: Uint8Array,
      argv: (string | null)[],
      envp: (string | null)[],
      callback: (err: unknown, result: number) => void,
    ): void;
  };
  readonly posix_spawnattr_init: (attr: Uint8Array) => number;
  readonly posix_spawnattr_destroy: (attr: Uint8Array) => number;
  readonly posix_spawnattr_setflags: (attr: Uint8Array, flags: number) => number;
  readonly posix_spawnattr_setsigdefault: (attr: Uint8Array, set: Uint8Array) => number;
  readonly posix_spawnattr_setsigmask: (attr: Uint8Array, set: Uint8Array) => number;
  readonly posix_spawn_file_actions_init: (actions: Uint8Array) => number;
  readonly posix_spawn_file_actions_destroy: (actions: Uint8Array) => number;
  readonly posix_spawn_file_actions_adddup2: (actions: Uint8Array, fd: number, newfd: number) => number;
  readonly posix_spawn_file_actions_addopen: (actions: Uint8Array, fd: number, path: string, flags: number, mode: number) => number;
  readonly posix_spawn_file_actions_addchdir_np: (actions: Uint8Array, path: string) => number;
  readonly posix_spawn_file_actions_addclosefrom_np: (actions: Uint8Array, from: number) => number;
  readonly sigfillset: (set: Uint8Array) => number;
  readonly sigemptyset: (set: Uint8Array) => number;
  readonly fcntl: (fd: number, cmd: number, ...rest: unknown[]) => number;
  readonly ioctl: (fd: number, request: number, ...rest: unknown[]) => number;
  readonly socket: (domain: number, type: number, protocol: number) => number;
  readonly bind: (fd: number, addr: Uint8Array, len: number) => number;
  readonly listen: (fd: number, backlog: number) => number;
  readonly accept4: (fd: number, addr: null, len: null, flags: number) => number;
  readonly connect: (fd: number, addr: Uint8Array, len: number) => number;
  readonly sendmsg: (fd: number, msg: Pointer, flags: number) => number;
  readonly recvmsg: (fd: number, msg: Pointer, flags: number) => number;
  readonly posix_openpt: (flags: number) => number;
  readonly grantpt: (fd: number) => number;
  readonly unlockpt: (fd: number) => number;
  readonly ptsname_r: (fd: number, buf: Uint8Array, len: number) => number;
  readonly sysconf: (name: number) => number;
  readonly strerror: (errnum: number) => string;
  /** The calling thread's errno, read now. */
  readonly errno: () => number;
}

let koffiModule: Koffi | undefined;
let loaded: Libc | undefined;

/** Returns the koffi module, requiring it on the first call. */
function ffi(): Koffi {
  koffiModule ??= createRequire(import.meta.url)("koffi") as Koffi;
  return koffiModule;
}

/** Returns the libc bindings, loading libc on the first call. */
export function libc(): Libc {
  loaded ??= load();
  return loaded;
}

function load(): Libc {
  const koffi = ffi();
  const lib = koffi.load("libc.so.6");
  // Prototypes use fixed-width types: on Linux x86_64 (and every 64-bit Linux) `unsigned long` and
  // `long` are 64 bits, which koffi's `long`/`unsigned long` follow.
  const f = (decl: string) => lib.func(decl);
  const errnoLocation = f("int *__errno_location(void)");
  return {
    mount: f(
      "int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)",
    ),
    umount2: f("int umount2(const char *target, int flags)"),
    mknod: f("int mknod(const char *path, uint32_t mode, uint64_t dev)"),
    lsetxattr: f("int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)"),
    lgetxattr: f("long lgetxattr(const char *path, const char *name, void *value, size_t size)"),
    llistxattr: f("long llistxattr(const char *path, void *list, size_t size)"),
    lremovexattr: f("int lremovexattr(const char *path, const char *name)"),
    prctl: f("int prctl(int option, ...)"),
    syscall: f("long syscall(long number, ...)"),
    waitpid: f("int waitpid(int pid, int *status, int options)"),
    waitid: f("int waitid(int idtype, uint32_t id, void *info, int options)"),
    getpgid: f("int getpgid(int pid)"),
    setsid: f("int setsid(void)"),
    close: f("int close(int fd)"),
    flock: f("int flock(int fd, int operation)"),
    pipe2: f("int pipe2(_Out_ int *fds, int flags)"),
    posix_spawn: f("int posix_spawn(_Out_ int *pid, const char *path, void *actions, void *attr, const char **argv, const char **envp)"),
    posix_spawnattr_init: f("int posix_spawnattr_init(void *attr)"),
    posix_spawnattr_destroy: f("int posix_spawnattr_destroy(void *attr)"),
    posix_spawnattr_setflags: f("int posix_spawnattr_setflags(void *attr, short flags)"),
    posix_spawnattr_setsigdefault: f("int posix_spawnattr_setsigdefault(void *attr, const void *set)"),
    posix_spawnattr_setsigmask: f("int posix_spawnattr_setsigmask(void *attr, const void *set)"),
    posix_spawn_file_actions_init: f("int posix_spawn_file_actions_init(void *actions)"),
    posix_spawn_file_actions_destroy: f("int posix_spawn_file_actions_destroy(void *actions)"),
    posix_spawn_file_actions_adddup2: f("int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)"),
    posix_spawn_file_actions_addopen: f("int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, uint32_t mode)"),
    posix_spawn_file_actions_addchdir_np: f("int posix_spawn_file_actions_addchdir_np(void *actions, const char *path)"),
    posix_spawn_file_actions_addclosefrom_np: f("int posix_spawn_file_actions_addclosefrom_np(void *actions, int from)"),
    sigfillset: f("int sigfillset(void *set)"),
    sigemptyset: f("int sigemptyset(void *set)"),
    fcntl: f("int fcntl(int fd, int cmd, ...)"),
    ioctl: f("int ioctl(int fd, unsigned long request, ...)"),
    socket: f("int socket(int domain, int type, int protocol)"),
    bind: f("int bind(int fd, const void *addr, uint32_t len)"),
    listen: f("int listen(int fd, int backlog)"),
    accept4: f("int accept4(int fd, void *addr, void *len, int flags)"),
    connect: f("int connect(int fd, const void *addr, uint32_t len)"),
    sendmsg: f("long sendmsg(int fd, void *msg, int flags)"),
    recvmsg: f("long recvmsg(int fd, void *msg, int flags)"),
    posix_openpt: f("int posix_openpt(int flags)"),
    grantpt: f("int grantpt(int fd)"),
    unlockpt: f("int unlockpt(int fd)"),
    ptsname_r: f("int ptsname_r(int fd, void *buf, size_t len)"),
    sysconf: f("long sysconf(int name)"),
    strerror: f("const char *strerror(int errnum)"),
    errno: () => koffi.decode(errnoLocation(), "int") as number,
  } as Libc;
}

/**
 * Native scratch memory for calls that take structures holding pointers (msghdr): koffi-allocated, so its
 * address is stable, viewed as a Buffer, and freed by `free()`.
 */
export interface NativeBlock {
  readonly address: Pointer;
  readonly bytes: Buffer;
  free(): void;
}

/** Allocates `size` zeroed bytes of native memory. */
export function allocBlock(size: number): NativeBlock {
  const koffi = ffi();
  const ptr = koffi.alloc("uint8_t", size) as Pointer;
  const bytes = Buffer.from(koffi.view(ptr, size));
  bytes.fill(0);
  let freed = false;
  return {
    address: ptr,
    bytes,
    free() {
      if (freed) return;
      freed = true;
      koffi.free(ptr);
    },
  };
}

/** The events a poll callback reports. */
export interface PollEvents {
  readonly readable: boolean;
  readonly writable: boolean;
  readonly disconnect: boolean;
}

/** A libuv poll watcher on a file descriptor (koffi's `node.poll`). */
export interface PollWatcher {
  /** Stops watching and releases the libuv handle; safe to call twice. Call before closing the fd. */
  close(): void;
}

/**
 * Watches `fd` on Node's event loop and calls `onEvent` when it is readable. `status` is 0 or a negated
 * errno (libuv's convention). The watcher keeps the event loop alive until closed.
 */
export function pollReadable(
  fd: number,
  onEvent: (status: number, events: PollEvents) => void,
): PollWatcher {
  // koffi's typings describe the callback as (events); the native side passes (status, events).
  const poll = ffi().node.poll as unknown as (
    fd: number,
    opts: { readable: boolean; disconnect: boolean },
    cb: (status: number, events: PollEvents) => void,
  ) => { close(): void } | null;
  const handle = poll(fd, { readable: true, disconnect: true }, onEvent);
  if (handle === null) throw new InternalError(`koffi could not watch file descriptor ${fd}`);
  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      handle.close();
    },
  };
}
