/**
 * containerd's runtime v2 naming rules (`runtime/v2/shim/util.go`): runtime name → shim binary name, and
 * the shim address format printed by `start`.
 */

/**
 * The shim binary of a runtime name: `containerd-shim-<second-to-last>-<last>` of its `.`-separated parts
 * (`io.containerd.runc.v2` → `containerd-shim-runc-v2`, `io.containerts.tsrunc.v1` →
 * `containerd-shim-tsrunc-v1`). The whole string is split, as containerd does. Returns `""` when the name
 * has fewer than two parts (containerd's "invalid runtime name").
 */
export function shimBinaryName(runtime: string): string {
  const parts = runtime.split(".");
  if (parts.length < 2) return "";
  return `containerd-shim-${parts[parts.length - 2]}-${parts[parts.length - 1]}`;
}

/**
 * The unix socket a shim address names: `unix:///abs/path` is a path socket; anything else is an abstract
 * socket (`\0` + the text), as containerd's `AnonDialer` dials it. The address is trimmed first.
 */
export function shimSocketPath(address: string): string {
  const a = address.trim();
  if (a.startsWith("unix://")) return a.slice("unix://".length);
  return `\0${a}`;
}
