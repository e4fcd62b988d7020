/**
 * Linux constants (x86_64 and every mainstream Linux architecture share these values).
 */

/** mount(2) flags (`MS_*` from <linux/mount.h>). */
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  POSIXACL: 0x10000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** The propagation-type mount flags: they change an existing mount and never go with other flags. */
export const MS_PROPAGATION = MS.SHARED | MS.PRIVATE | MS.SLAVE | MS.UNBINDABLE;

/** umount2(2) flags (`MNT_*`). */
export const MNT = {
  FORCE: 0x1,
  DETACH: 0x2,
  EXPIRE: 0x4,
} as const;

/** umount2(2): do not follow a symlink at the target. */
export const UMOUNT_NOFOLLOW = 0x8;

/** File type mask of a mode. */
export const S_IFMT = 0o170000;
/** Socket file type. */
export const S_IFSOCK = 0o140000;
/** Symbolic link file type. */
export const S_IFLNK = 0o120000;
/** Regular file type. */
export const S_IFREG = 0o100000;
/** Block device file type. */
export const S_IFBLK = 0o060000;
/** Directory file type. */
export const S_IFDIR = 0o040000;
/** Character device file type. */
export const S_IFCHR = 0o020000;
/** FIFO (named pipe) file type. */
export const S_IFIFO = 0o010000;

/** setxattr(2) flags. */
export const XATTR = {
  /** Fail with EEXIST if the attribute exists. */
  CREATE: 0x1,
  /** Fail with ENODATA if the attribute does not exist. */
  REPLACE: 0x2,
} as const;
