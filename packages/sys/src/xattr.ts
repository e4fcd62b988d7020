import { SysError, cString } from "./errors.js";
import { libc } from "./internal/libc.js";

const ENODATA = 61;
const ERANGE = 34;
/** Attempts when an attribute grows between the size query and the read. */
const SIZE_RACE_ATTEMPTS = 8;

/**
 * Sets extended attribute `name` of `path` without following a final symlink (lsetxattr(2)).
 * `flags` may be `XATTR.CREATE` or `XATTR.REPLACE`. `trusted.*` needs CAP_SYS_ADMIN; `user.*` is
 * refused on symlinks and device nodes (EPERM).
 * Throws SysError (`syscall: "lsetxattr"`): ENOTSUP when the filesystem has no xattrs of that namespace.
 */
export function lsetxattr(path: string, name: string, value: Uint8Array, flags = 0): void {
  const c = libc();
  if (c.lsetxattr(cString(path, "path"), cString(name, "xattr name"), value, value.byteLength, flags) !== 0) {
    throw new SysError(c.errno(), "lsetxattr", { path });
  }
}

/**
 * Reads extended attribute `name` of `path` without following a final symlink (lgetxattr(2)).
 * Returns undefined when the attribute is absent (ENODATA). Throws SysError for other failures.
 */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const c = libc();
  const p = cString(path, "path");
  const n = cString(name, "xattr name");
  for (let attempt = 0; attempt < SIZE_RACE_ATTEMPTS; attempt++) {
    const size = c.lgetxattr(p, n, null, 0);
    if (size < 0) {
      const errno = c.errno();
      if (errno === ENODATA) return undefined;
      throw new SysError(errno, "lgetxattr", { path });
    }
    const buf = Buffer.alloc(size);
    if (size === 0) return buf;
    const got = c.lgetxattr(p, n, buf, size);
    if (got >= 0) return buf.subarray(0, got);
    const errno = c.errno();
    if (errno === ENODATA) return undefined;
    if (errno !== ERANGE) throw new SysError(errno, "lgetxattr", { path });
  }
  throw new SysError(ERANGE, "lgetxattr", { path });
}

/**
 * Lists the extended attribute names of `path` without following a final symlink (llistxattr(2)).
 * Only the namespaces the caller may see are listed (`trusted.*` needs CAP_SYS_ADMIN).
 * Throws SysError (`syscall: "llistxattr"`).
 */
export function llistxattr(path: string): string[] {
  const c = libc();
  const p = cString(path, "path");
  for (let attempt = 0; attempt < SIZE_RACE_ATTEMPTS; attempt++) {
    const size = c.llistxattr(p, null, 0);
    if (size < 0) throw new SysError(c.errno(), "llistxattr", { path });
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const got = c.llistxattr(p, buf, size);
    if (got >= 0) {
      return buf
        .subarray(0, got)
        .toString("utf8")
        .split("\0")
        .filter((s) => s !== "");
    }
    const errno = c.errno();
    if (errno !== ERANGE) throw new SysError(errno, "llistxattr", { path });
  }
  throw new SysError(ERANGE, "llistxattr", { path });
}

/**
 * Removes extended attribute `name` of `path` without following a final symlink (lremovexattr(2)).
 * Throws SysError (`syscall: "lremovexattr"`): ENODATA when the attribute is absent.
 */
export function lremovexattr(path: string, name: string): void {
  const c = libc();
  if (c.lremovexattr(cString(path, "path"), cString(name, "xattr name")) !== 0) {
    throw new SysError(c.errno(), "lremovexattr", { path });
  }
}
