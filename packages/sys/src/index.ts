/**
 * `@containerts/sys`: the Linux calls Node lacks, through koffi calling libc. libc is loaded on the first
 * call, never at import time.
 */
export { SysError, type SysErrorOptions, isSysError, describeErrno } from "./errors.js";
export {
  MS,
  MS_PROPAGATION,
  MNT,
  UMOUNT_NOFOLLOW,
  S_IFMT,
  S_IFSOCK,
  S_IFLNK,
  S_IFREG,
  S_IFBLK,
  S_IFDIR,
  S_IFCHR,
  S_IFIFO,
  XATTR,
} from "./constants.js";
export {
  type Mount,
  type UnmountOptions,
  mount,
  umount2,
  mountOne,
  mountAll,
  unmountAll,
  unmountAllAsync,
  pageSize,
} from "./mount.js";
export {
  type ParsedMountOptions,
  parseMountOptions,
  compactLowerdirOption,
  optionsSize,
} from "./mount-options.js";
export { type MountInfo, parseMountInfo, readMountInfo, isMountPoint, mountsUnder } from "./mountinfo.js";
export { type LoopDevice, type LoopOptions, attachLoopDevice } from "./loop.js";
export { mknod, makedev, major, minor } from "./device.js";
export { lsetxattr, lgetxattr, llistxattr, lremovexattr } from "./xattr.js";
export {
  type WaitResult,
  type WaitOptions,
  setChildSubreaper,
  isChildSubreaper,
  pidfdOpen,
  pidfdSendSignal,
  pidfdWait,
  waitpidNoHang,
  getpgid,
  setsid,
} from "./process.js";
export { type FlockOperation, closeFd, dupFd, sendFd, receiveFdOnce, tryFlock } from "./fd.js";
export {
  type PipedOutput,
  type PosixSpawnOptions,
  type ProgramResult,
  type SpawnProgramOptions,
  type SpawnStdio,
  pipe,
  posixSpawn,
  posixSpawnAsync,
  StdioPipes,
  spawnProgram,
} from "./spawn.js";
export { type Winsize, type Pty, setWinsize, getWinsize, openpty } from "./tty.js";
