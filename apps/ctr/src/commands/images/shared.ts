/**
 * What the `images` commands (and `content fetch`) share: ctr's registry, snapshotter and label flags,
 * byte sizes printed as ctr prints them, and the snapshotter choice.
 */
import type { Command } from "commander";
import type { RemoteOptions } from "@containerts/client";
import { CommandError } from "../../cli.js";

/** The registry flags of ctr (`commands.RegistryFlags`) that tsctr implements. */
export interface RegistryFlagValues {
  readonly plainHttp?: boolean;
  readonly user?: string;
  readonly skipVerify?: boolean;
}

/** Adds ctr's registry flags to a command. */
export function registryFlags(cmd: Command): Command {
  return cmd
    .option("-k, --skip-verify", "skip SSL certificate validation")
    .option("--plain-http", "allow connections using plain HTTP")
    .option("-u, --user <user[:password]>", "user[:password] Registry user and password");
}

/** Adds ctr's `--snapshotter` flag (default `CONTAINERD_SNAPSHOTTER`, else the daemon-side default). */
export function snapshotterFlag(cmd: Command): Command {
  return cmd.option("--snapshotter <name>", "snapshotter name. Empty value stands for the default value.", process.env["CONTAINERD_SNAPSHOTTER"] ?? "");
}

/** Collects a repeatable string flag. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

/** The client's remote options from the registry flags. */
export function remoteOptions(o: RegistryFlagValues): RemoteOptions {
  if (o.skipVerify === true) throw new CommandError("--skip-verify is not supported: tsctr verifies TLS certificates");
  let auth: RemoteOptions["auth"];
  if (o.user !== undefined && o.user !== "") {
    const i = o.user.indexOf(":");
    auth = i < 0 ? { username: o.user, password: "" } : { username: o.user.slice(0, i), password: o.user.slice(i + 1) };
  }
  return { ...(o.plainHttp === true ? { plainHttp: true } : {}), ...(auth !== undefined ? { auth } : {}) };
}

/** ctr's `progress.Bytes`: `%02.1f %s` in powers of 1024 (`1.0 MiB`). */
export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
  let size = n;
  let i = 0;
  while (size >= 1024 && i < units.length - 1) {
    size /= 1024;
    i++;
  }
  return `${size.toFixed(1).padStart(2, "0")} ${units[i]}`;
}

/** Go's `time.Duration.String()` for a duration in milliseconds (`1.234567s`, `850.5ms`). */
export function goDuration(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${trim(ms.toFixed(6))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${trim(s.toFixed(9))}s`;
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  if (m < 60) return `${m}m${trim(rest.toFixed(9))}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${trim(rest.toFixed(9))}s`;
}

function trim(x: string): string {
  return x.includes(".") ? x.replace(/0+$/, "").replace(/\.$/, "") : x;
}

/** ctr's `LabelArgs` over `--label key=value` flags (a bare key means `key=true`). */
export function labelFlags(values: readonly string[] | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const a of values ?? []) {
    const i = a.indexOf("=");
    if (i < 0) labels[a] = "true";
    else labels[a.slice(0, i)] = a.slice(i + 1);
  }
  return labels;
}
