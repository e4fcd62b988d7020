import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isMainThread } from "node:worker_threads";
import { InternalError, InvalidArgumentError, NotImplementedError } from "@containerts/errdefs";
import { MNT, MS } from "./constants.js";
import { SysError, cString } from "./errors.js";
import { libc } from "./internal/libc.js";
import { rootPath } from "./internal/root-path.js";
import { attachLoopDevice, type LoopDevice } from "./loop.js";
import { compactLowerdirOption, optionsSize, parseMountOptions } from "./mount-options.js";

const EBUSY = 16;
const ENOENT = 2;
const EINVAL = 22;
const SC_PAGESIZE = 30;
const MAX_STACKED_MOUNTS = 100_000;

/**
 * A mount as containerd's API describes it (`containerd.types.Mount`): what snapshotters return and
 * runtimes consume. `target`, when set, is a path below the directory given to {@link mountOne}.
 */
export interface Mount {
  /** Filesystem type: `overlay`, `bind`, `tmpfs`, `ext4`, … */
  readonly type: string;
  /** Mount source: a path for bind mounts and loop images, a label such as `overlay` otherwise. */
  readonly source: string;
  /** Sub-path of the mount root to mount at (containerd 1.7+); resolved inside the root. */
  readonly target?: string;
  /** fstab-style options, parsed by {@link parseMountOptions}. */
  readonly options: readonly string[];
}

/**
 * Calls mount(2). `data` (filesystem options) is passed as NULL when empty or omitted.
 * Throws SysError (`syscall: "mount"`, `path: target`) when the kernel refuses.
 */
export function mount(source: string, target: string, fstype: string, flags: number, data?: string): void {
  const c = libc();
  const r = c.mount(
    cString(source, "mount source"),
    cString(target, "mount target"),
    cString(fstype, "filesystem type"),
    flags,
    data === undefined || data === "" ? null : cString(data, "mount data"),
  );
  if (r !== 0) throw new SysError(c.errno(), "mount", { path: target });
}

/**
 * Calls umount2(2) with `MNT.*` / `UMOUNT_NOFOLLOW` flags (default 0).
 * Throws SysError (`syscall: "umount2"`): EINVAL when `target` is not a mount point, EBUSY when in use.
 */
export function umount2(target: string, flags = 0): void {
  const c = libc();
  if (c.umount2(cString(target, "unmount target"), flags) !== 0) {
    throw new SysError(c.errno(), "umount2", { path: target });
  }
}

/** The system page size (the kernel copies at most one page of mount data). */
export function pageSize(): number {
  return libc().sysconf(SC_PAGESIZE);
}

/**
 * Mounts one {@link Mount} at `target` (or at `target` joined with `m.target`), like containerd's
 * `Mount.Mount` on Linux:
 *
 * 1. overlay options longer than a page minus 512 bytes get containerd's compaction: `lowerdir` is
 *    rewritten relative to the lower directories' common parent, and the mount is made with that parent
 *    as the working directory (see the caveat below);
 * 2. options are parsed ({@link parseMountOptions}); filesystem data longer than a page is rejected with
 *    InvalidArgumentError;
 * 3. the main mount(2) call (skipped for a pure `remount` without data), with the source attached to a
 *    loop device first when the `loop` option is present (the device detaches itself when unmounted);
 * 4. a propagation change (`private`, `rshared`, …) as its own call;
 * 5. a bind mount asked to be read-only is remounted with `MS_REMOUNT|MS_BIND|MS_RDONLY`, because the
 *    kernel ignores `MS_RDONLY` on the initial bind.
 *
 * If step 4 or 5 fails, the mount made in step 3 is detached again before the error is thrown, so a
 * failed call leaves no mount behind.
 *
 * Caveat: the overlay compaction changes the process's working directory for the duration of the
 * synchronous mount(2) call (`process.chdir`, restored in `finally`). JavaScript cannot observe it, but
 * a relative-path file operation running at that instant on libuv's thread pool would. Compaction is only
 * possible on the main thread; in a worker it throws NotImplementedError. FUSE types (`fuse.*`,
 * `fuse3.*`), which containerd mounts through a helper binary, throw NotImplementedError.
 *
 * Errors: SysError from the kernel (`code` ENOENT, EINVAL, EBUSY, …), InvalidArgumentError for options
 * that cannot be passed, NotImplementedError as above.
 */
export function mountOne(m: Mount, target: string): void {
  if (m.type.startsWith("fuse.") || m.type.startsWith("fuse3.")) {
    throw new NotImplementedError(`mount of type ${m.type} (needs the mount.fuse helper)`);
  }
  const dest = m.target === undefined || m.target === "" ? resolve(target) : rootPath(target, m.target);
  const page = pageSize();
  let chdir = "";
  let options: readonly string[] = m.options;
  if (m.type === "overlay" && optionsSize(options) >= page - 512) {
    ({ chdir, options } = compactLowerdirOption(options));
  }
  const { flags, propagation, data, loopSetup } = parseMountOptions(options);
  const dataSize = Buffer.byteLength(data);
  if (dataSize > page) {
    throw new InvalidArgumentError(`mount ${dest}: mount options is too long (${dataSize} bytes, page size ${page})`);
  }

  let mounted = false;
  if ((flags & MS.REMOUNT) === 0 || data !== "") {
    let source = m.source;
    let loop: LoopDevice | undefined;
    if (loopSetup === true) {
      loop = attachLoopDevice(m.source, { readonly: (flags & MS.RDONLY) !== 0, autoclear: true });
      source = loop.path;
    }
    try {
      mountAt(chdir, source, dest, m.type, flags, data);
    } finally {
      if (loop !== undefined) libc().close(loop.fd);
    }
    mounted = (flags & MS.REMOUNT) === 0;
  }

  try {
    if (propagation !== 0) {
      mount("", dest, "", propagation | (flags & (MS.REC | MS.SILENT)));
    }
    const bindReadOnly = MS.BIND | MS.RDONLY;
    if ((flags & bindReadOnly) === bindReadOnly) {
      mount("", dest, "", flags | MS.REMOUNT);
    }
  } catch (err) {
    if (mounted) libc().umount2(dest, MNT.DETACH);
    throw err;
  }
}

function mountAt(chdir: string, source: string, target: string, fstype: string, flags: number, data: string): void {
  if (chdir === "") {
    mount(source, target, fstype, flags, data);
    return;
  }
  if (!isMainThread) {
    throw new NotImplementedError(
      `mount ${target}: overlay options longer than a page need a working-directory change, which worker threads cannot make`,
    );
  }
  if (!statSync(chdir).isDirectory()) {
    throw new InvalidArgumentError(`mount ${target}: failed to mountat: ${chdir} is not a directory`);
  }
  const cwd = process.cwd();
  process.chdir(chdir);
  try {
    mount(source, target, fstype, flags, data);
  } finally {
    process.chdir(cwd);
  }
}

/**
 * Mounts each of `mounts` at `target` in order, like containerd's `mount.All` (later mounts stack on
 * earlier ones). Stops at the first failure and throws its error; mounts already made stay (the caller
 * undoes them with {@link unmountAll}, as containerd's callers do).
 */
export function mountAll(mounts: readonly Mount[], target: string): void {
  for (const m of mounts) mountOne(m, target);
}

/**
 * Unmounts `target` again and again until it is no longer a mount point, like containerd's
 * `mount.UnmountAll`: a stack of mounts on one path comes off entirely. Does nothing for "" or a path
 * that does not exist; the final EINVAL ("not a mount point") or ENOENT ends the loop quietly.
 * EBUSY is thrown at once (a synchronous call cannot wait); {@link unmountAllAsync} retries it.
 * Errors: SysError for any other failure.
 */
export function unmountAll(target: string, flags = 0): void {
  if (target === "" || !existsSync(target)) return;
  const c = libc();
  const path = cString(target, "unmount target");
  for (let i = 0; i < MAX_STACKED_MOUNTS; i++) {
    if (c.umount2(path, flags) === 0) continue;
    const errno = c.errno();
    if (errno === EINVAL || errno === ENOENT) return;
    throw new SysError(errno, "umount2", { path: target });
  }
  throw new InternalError(`unmount ${target}: still a mount point after ${MAX_STACKED_MOUNTS} unmounts`);
}

/** Options of {@link unmountAllAsync}. */
export interface UnmountOptions {
  /** umount2(2) flags (`MNT.*`). Default 0. */
  readonly flags?: number;
  /** How many EBUSY retries are allowed in total. Default 50, as containerd allows per unmount. */
  readonly busyRetries?: number;
  /** Delay between EBUSY retries in milliseconds. Default 50, as containerd. */
  readonly busyDelayMs?: number;
  /** Aborts the retries (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/**
 * {@link unmountAll} with containerd's EBUSY handling: a busy mount is retried (50 times, 50 ms apart by
 * default) on timers, without blocking the event loop. Rejects with SysError EBUSY when retries run out.
 */
export async function unmountAllAsync(target: string, options: UnmountOptions = {}): Promise<void> {
  const { flags = 0, busyRetries = 50, busyDelayMs = 50, signal } = options;
  let busy = 0;
  for (;;) {
    signal?.throwIfAborted();
    try {
      unmountAll(target, flags);
      return;
    } catch (err) {
      if (!(err instanceof SysError) || err.errno !== EBUSY || busy >= busyRetries) throw err;
      busy++;
      await sleep(busyDelayMs, undefined, signal === undefined ? {} : { signal });
    }
  }
}
