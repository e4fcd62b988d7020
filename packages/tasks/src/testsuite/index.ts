/**
 * Helpers for tests that run tasks (this package's and the daemon's): OCI specs running busybox, a busybox
 * root filesystem, and the clean-up tools that find a daemon's shims by their command line and act on
 * their PIDs only, remove runc state and the namespace cgroups runc leaves, and check for zombies.
 * Linux only; most need root.
 * @module
 */
export { busyboxSpec, processSpec } from "./spec.js";
export {
  alive,
  cleanupCgroups,
  cleanupRunc,
  RUNC_ROOTS,
  cmdline,
  killPids,
  makeBusyboxRootfs,
  mountsUnder,
  parentPid,
  procState,
  removeShimSocket,
  shimPidsFor,
  unmountUnder,
  waitFor,
  zombiesOf,
} from "./procs.js";
