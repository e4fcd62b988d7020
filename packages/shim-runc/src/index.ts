/**
 * `@containerts/shim-runc`: `containerd-shim-tsrunc-v1`, the containerts runtime v2 shim (runtime name
 * `io.containerts.tsrunc.v1`). The package is mainly its program (`bin/containerd-shim-tsrunc-v1`); this
 * entry exports what a daemon or an installer needs to find and address it.
 */
import { fileURLToPath } from "node:url";
import { SHIM_BINARY } from "./version.js";

export { RUNTIME_NAME, SHIM_BINARY, VERSION } from "./version.js";
export {
  DEFAULT_LINGER_MS,
  DEFAULT_SOCKET_DIR,
  GROUP_ANNOTATIONS,
  LINGER_ENV,
  SHARED_ENV,
  SHARED_GROUP,
  SOCKET_DIR_ENV,
  groupingId,
  lingerMs,
  sharedShim,
  socketAddress,
  socketDir,
  socketPath,
} from "./address.js";
export { DEFAULT_RUNC_ROOT, type RuncOptions } from "./options.js";
export { type ShimFlags, parseFlags } from "./flags.js";

/** Absolute path of the shim program in this package (`bin/containerd-shim-tsrunc-v1`). */
export function shimBinaryPath(): string {
  return fileURLToPath(new URL(`../bin/${SHIM_BINARY}`, import.meta.url));
}
