import { constants } from "node:os";
import { getSystemErrorMap } from "node:util";
import { InvalidArgumentError } from "@containerts/errdefs";
import { libc } from "./internal/libc.js";

/** Options of a {@link SysError}: the paths the failed call was about. */
export interface SysErrorOptions {
  /** The path the call acted on (for mount: the target). */
  readonly path?: string;
  /** A second path, for calls that take two (shown as `'path' -> 'dest'`, like Node). */
  readonly dest?: string;
}

/**
 * A failed Linux call, shaped like Node's own system errors so callers can branch on `code`.
 *
 * The message reads like Node's: `EPERM: operation not permitted, mount '/run/x'`. `errno` is the
 * positive C value (as in `os.constants.errno`; Node's fs errors carry it negated). `@containerts/errdefs`'
 * `normalize()` maps `ENOENT` to NotFound and `EEXIST` to AlreadyExists through `code`.
 */
export class SysError extends Error {
  /** The errno name, such as `"ENOENT"`. */
  readonly code: string;
  /** The positive errno value. */
  readonly errno: number;
  /** The call that failed, such as `"mount"`. */
  readonly syscall: string;
  /** The path the call acted on, when it took one. */
  declare readonly path?: string;
  /** The second path, when the call took two. */
  declare readonly dest?: string;

  constructor(errno: number, syscall: string, options: SysErrorOptions = {}) {
    const [code, description] = describeErrno(errno);
    let message = `${code}: ${description}, ${syscall}`;
    if (options.path !== undefined) message += ` '${options.path}'`;
    if (options.dest !== undefined) message += ` -> '${options.dest}'`;
    super(message);
    this.name = "SysError";
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (options.path !== undefined) this.path = options.path;
    if (options.dest !== undefined) this.dest = options.dest;
  }
}

/** True when `err` is a {@link SysError} with the given code (or any code when none is given). */
export function isSysError(err: unknown, code?: string): err is SysError {
  return err instanceof SysError && (code === undefined || err.code === code);
}

/**
 * The errno name and description for a positive errno value: libuv's (as in Node's messages) where
 * libuv knows the code, else the name from `os.constants.errno` and libc's strerror text in lower case
 * (libuv has no ECHILD, for one).
 */
export function describeErrno(errno: number): [code: string, description: string] {
  const entry = getSystemErrorMap().get(-errno);
  if (entry !== undefined) return entry;
  const name = Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `E${errno}`;
  const text = libc().strerror(errno);
  return [name, text.charAt(0).toLowerCase() + text.slice(1)];
}

/**
 * Checks that `value` can travel as a C string: a NUL byte would silently cut it short.
 * Throws InvalidArgumentError naming `what`.
 */
export function cString(value: string, what: string): string {
  if (value.includes("\0")) throw new InvalidArgumentError(`${what} ${JSON.stringify(value)} contains a NUL byte`);
  return value;
}
