import { InvalidArgumentError } from "@containerts/errdefs";
import { SysError, cString } from "./errors.js";
import { libc } from "./internal/libc.js";

/**
 * Creates a device node, FIFO or regular file with mknod(2). `mode` holds the type (`S_IFCHR`,
 * `S_IFBLK`, `S_IFIFO`, `S_IFREG`, `S_IFSOCK`) and the permission bits (the umask applies); `dev` (from
 * {@link makedev}) matters for devices only. A 0/0 character device is overlayfs' whiteout.
 * Throws SysError (`syscall: "mknod"`): EEXIST when `path` exists, EPERM without CAP_MKNOD.
 */
export function mknod(path: string, mode: number, dev = 0): void {
  const c = libc();
  if (c.mknod(cString(path, "path"), mode, BigInt(dev)) !== 0) {
    throw new SysError(c.errno(), "mknod", { path });
  }
}

function checkDevPart(value: number, what: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) {
    throw new InvalidArgumentError(`device ${what} number ${value} is not a 32-bit unsigned integer`);
  }
  return BigInt(value);
}

/**
 * Combines a major and minor number into a device number, with glibc's 64-bit encoding (the same as
 * `fs.Stats.rdev`). Throws InvalidArgumentError when the result cannot be an exact JavaScript number.
 */
export function makedev(major: number, minor: number): number {
  const ma = checkDevPart(major, "major");
  const mi = checkDevPart(minor, "minor");
  const dev = ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
  if (dev > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidArgumentError(`device ${major}:${minor} does not fit a JavaScript number`);
  }
  return Number(dev);
}

function devBig(dev: number): bigint {
  if (!Number.isSafeInteger(dev) || dev < 0) throw new InvalidArgumentError(`device number ${dev} is not valid`);
  return BigInt(dev);
}

/** The major number of a device number (glibc's `major()`). */
export function major(dev: number): number {
  const d = devBig(dev);
  return Number(((d >> 32n) & 0xfffff000n) | ((d >> 8n) & 0xfffn));
}

/** The minor number of a device number (glibc's `minor()`). */
export function minor(dev: number): number {
  const d = devBig(dev);
  return Number(((d >> 12n) & 0xffffff00n) | (d & 0xffn));
}
