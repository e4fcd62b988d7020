/**
 * Identity of the shim: runtime name, binary name and version.
 */

declare const __CONTAINERTS_SHIM_VERSION__: string | undefined;
declare const __CONTAINERTS_SHIM_REVISION__: string | undefined;

/** The runtime name containerd resolves to this shim. */
export const RUNTIME_NAME = "io.containerts.tsrunc.v1";

/** The binary name (containerd's rule: `containerd-shim-<second-to-last>-<last>` of the runtime name). */
export const SHIM_BINARY = "containerd-shim-tsrunc-v1";

/** The version baked in by the bundler ("dev" when running from sources). */
export const VERSION: string = typeof __CONTAINERTS_SHIM_VERSION__ === "string" ? __CONTAINERTS_SHIM_VERSION__ : "dev";

/** The source revision baked in by the bundler. */
export const REVISION: string = typeof __CONTAINERTS_SHIM_REVISION__ === "string" ? __CONTAINERTS_SHIM_REVISION__ : "unknown";

/** The text `-v` prints. */
export function versionText(argv0: string): string {
  return `${argv0}:\n  Version:  ${VERSION}\n  Revision: ${REVISION}\n  Node version: ${process.version}\n\n`;
}
