import { constants, openSync } from "node:fs";
import { InvalidArgumentError } from "@containerts/errdefs";
import { SysError } from "./errors.js";
import { libc } from "./internal/libc.js";

const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
const PTSNAME_MAX = 128;
const O_CLOEXEC = 0o2000000;

/** A terminal size in character cells. */
export interface Winsize {
  readonly rows: number;
  readonly cols: number;
}

function checkCells(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new InvalidArgumentError(`terminal ${what} ${value} is not an integer from 0 to 65535`);
  }
}

/**
 * Sets the window size of the terminal behind `fd` (ioctl TIOCSWINSZ); the foreground process group
 * gets SIGWINCH. Pixel sizes are set to 0. Throws SysError (`syscall: "ioctl"`): ENOTTY for a non-terminal.
 */
export function setWinsize(fd: number, rows: number, cols: number): void {
  checkCells(rows, "rows");
  checkCells(cols, "columns");
  const c = libc();
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  if (c.ioctl(fd, TIOCSWINSZ, "void *", ws) !== 0) throw new SysError(c.errno(), "ioctl");
}

/** Reads the window size of the terminal behind `fd` (ioctl TIOCGWINSZ). Throws SysError: ENOTTY for a non-terminal. */
export function getWinsize(fd: number): Winsize {
  const c = libc();
  const ws = Buffer.alloc(8);
  if (c.ioctl(fd, TIOCGWINSZ, "void *", ws) !== 0) throw new SysError(c.errno(), "ioctl");
  return { rows: ws.readUInt16LE(0), cols: ws.readUInt16LE(2) };
}

/** A pseudo-terminal pair from {@link openpty}. */
export interface Pty {
  /** The master side (what a console copier reads and writes). */
  readonly master: number;
  /** The slave side (a process's stdin/stdout/stderr). */
  readonly slave: number;
  /** The slave's path, such as `/dev/pts/3`. */
  readonly slaveName: string;
}

/**
 * Opens a new pseudo-terminal: posix_openpt, grantpt, unlockpt, ptsname_r, then opens the slave.
 * Both descriptors are close-on-exec and neither becomes the controlling terminal; close both with
 * `closeFd` (or hand them to `fs` streams). Throws SysError naming the failing call.
 */
export function openpty(): Pty {
  const c = libc();
  const master = c.posix_openpt(constants.O_RDWR | constants.O_NOCTTY | O_CLOEXEC);
  if (master < 0) throw new SysError(c.errno(), "posix_openpt");
  try {
    if (c.grantpt(master) !== 0) throw new SysError(c.errno(), "grantpt");
    if (c.unlockpt(master) !== 0) throw new SysError(c.errno(), "unlockpt");
    const buf = Buffer.alloc(PTSNAME_MAX);
    const r = c.ptsname_r(master, buf, buf.length);
    // ptsname_r returns the error number itself rather than setting errno.
    if (r !== 0) throw new SysError(r, "ptsname_r");
    const end = buf.indexOf(0);
    const slaveName = buf.toString("utf8", 0, end === -1 ? buf.length : end);
    const slave = openSync(slaveName, constants.O_RDWR | constants.O_NOCTTY);
    return { master, slave, slaveName };
  } catch (err) {
    c.close(master);
    throw err;
  }
}
