import { closeSync, constants, openSync } from "node:fs";
import { UnavailableError } from "@containerts/errdefs";
import { SysError } from "./errors.js";
import { libc } from "./internal/libc.js";

const LOOP_SET_FD = 0x4c00;
const LOOP_CLR_FD = 0x4c01;
const LOOP_SET_STATUS64 = 0x4c04;
const LOOP_CTL_GET_FREE = 0x4c82;
const LO_FLAGS_READ_ONLY = 1;
const LO_FLAGS_AUTOCLEAR = 4;
const LO_NAME_SIZE = 64;
const LOOP_INFO64_SIZE = 232;
const LOOP_INFO64_FLAGS = 52;
const LOOP_INFO64_FILE_NAME = 56;
const ATTACH_ATTEMPTS = 100;
// Node opens every file close-on-exec (libuv adds O_CLOEXEC).

/** Options of {@link attachLoopDevice}. */
export interface LoopOptions {
  /** Attach read-only (the backing file and the device are opened O_RDONLY). */
  readonly readonly?: boolean;
  /** Detach automatically when the last reference (open fd or mount) goes away. Default true. */
  readonly autoclear?: boolean;
}

/** A loop device bound to a file: `path` is `/dev/loopN`, `fd` an open descriptor on it. */
export interface LoopDevice {
  readonly path: string;
  /** Open descriptor on the device; close it (with `closeFd`) once the device is mounted or no longer needed. */
  readonly fd: number;
}

/**
 * Attaches `file` to a free loop device, like containerd's `setupLoop`: asks `/dev/loop-control` for a
 * free device, binds the file to it (retrying when another process takes the same device first) and sets
 * the autoclear and read-only flags. With autoclear the device detaches itself once `fd` is closed and
 * nothing mounts it. Throws SysError for failing calls, UnavailableError when no device could be taken.
 */
export function attachLoopDevice(file: string, options: LoopOptions = {}): LoopDevice {
  const readonly = options.readonly ?? false;
  const autoclear = options.autoclear ?? true;
  const c = libc();
  const mode = (readonly ? constants.O_RDONLY : constants.O_RDWR);
  const backing = openSync(file, mode);
  try {
    const control = openSync("/dev/loop-control", constants.O_RDWR);
    try {
      for (let attempt = 0; attempt < ATTACH_ATTEMPTS; attempt++) {
        const num = c.ioctl(control, LOOP_CTL_GET_FREE);
        if (num < 0) throw new SysError(c.errno(), "ioctl", { path: "/dev/loop-control" });
        const path = `/dev/loop${num}`;
        const fd = openSync(path, mode);
        if (c.ioctl(fd, LOOP_SET_FD, "int", backing) < 0) {
          const errno = c.errno();
          closeSync(fd);
          if (errno === 16 /* EBUSY: another process took it first */) continue;
          throw new SysError(errno, "ioctl LOOP_SET_FD", { path, dest: file });
        }
        const info = Buffer.alloc(LOOP_INFO64_SIZE);
        let flags = 0;
        if (readonly) flags |= LO_FLAGS_READ_ONLY;
        if (autoclear) flags |= LO_FLAGS_AUTOCLEAR;
        info.writeUInt32LE(flags, LOOP_INFO64_FLAGS);
        const name = Buffer.from(file);
        name.copy(info, LOOP_INFO64_FILE_NAME, 0, Math.min(name.length, LO_NAME_SIZE - 1));
        if (c.ioctl(fd, LOOP_SET_STATUS64, "void *", info) < 0) {
          const errno = c.errno();
          c.ioctl(fd, LOOP_CLR_FD, "int", 0);
          closeSync(fd);
          throw new SysError(errno, "ioctl LOOP_SET_STATUS64", { path });
        }
        return { path, fd };
      }
      throw new UnavailableError(`loop device for ${file}: every free device was taken by others`);
    } finally {
      closeSync(control);
    }
  } finally {
    closeSync(backing);
  }
}
