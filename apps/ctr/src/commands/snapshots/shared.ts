/**
 * What the `snapshots` commands share: the snapshotter chosen with `--snapshotter`, ctr's mount lines,
 * and Go's JSON shapes for snapshot infos and mounts.
 */
import type { Command } from "commander";
import type { Client } from "@containerts/client";
import { println } from "../../cli.js";

/** The snapshotter proxy the client hands out. */
export type Snapshotter = ReturnType<Client["snapshots"]>;
/** A snapshot's info as the client returns it. */
export type SnapshotInfo = Awaited<ReturnType<Snapshotter["stat"]>>;
/** A mount as the client returns it. */
export type Mount = Awaited<ReturnType<Snapshotter["mounts"]>>[number];

/** containerd's `Kind.String()`: `Active`, `View`, `Committed`. */
export function kindDisplayName(kind: SnapshotInfo["kind"]): string {
  return kind === "active" ? "Active" : kind === "view" ? "View" : "Committed";
}

/** The snapshotter the client uses when `--snapshotter` is empty (containerd's `DefaultSnapshotter`). */
export const DEFAULT_SNAPSHOTTER = "overlayfs";

/**
 * The snapshotter named by the group's `--snapshotter` (or `CONTAINERD_SNAPSHOTTER`); empty means
 * overlayfs, as ctr resolves it without asking the daemon.
 */
export function snapshotterOf(cmd: Command, client: Client): Snapshotter {
  let c: Command | null = cmd;
  while (c !== null && c.name() !== "snapshots") c = c.parent;
  const name = (c?.opts<{ snapshotter?: string }>().snapshotter ?? "") || DEFAULT_SNAPSHOTTER;
  return client.snapshots(name);
}

/** ctr's `printMounts`: one `mount -t <type> <source> <target> -o <options>` line per mount. */
export function printMounts(target: string, mounts: readonly Mount[]): void {
  for (const m of mounts) println(`mount -t ${m.type} ${m.source} ${target} -o ${m.options.join(",")}`);
}

/** Go's `time.Time` JSON: RFC 3339 with fractional seconds, trailing zeros trimmed. */
function goTime(d: Date): string {
  return d.toISOString().replace(/\.?0+Z$/, "Z");
}

/** Go's `json.MarshalIndent(x, "", "    ")`, with Go's escaping of `<`, `>`, `&`, U+2028 and U+2029. */
export function goIndentJson(value: unknown): string {
  return JSON.stringify(value, null, 4).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A `snapshots.Info` as Go encodes it (`Parent` and `Labels` omitted when empty; labels sorted). */
export function infoJson(info: SnapshotInfo): unknown {
  const labels = Object.keys(info.labels).sort();
  return {
    Kind: kindDisplayName(info.kind),
    Name: info.name,
    ...(info.parent !== undefined && info.parent !== "" ? { Parent: info.parent } : {}),
    ...(labels.length > 0 ? { Labels: Object.fromEntries(labels.map((k) => [k, info.labels[k]!])) } : {}),
    Created: goTime(info.createdAt),
    Updated: goTime(info.updatedAt),
  };
}

/** `[]mount.Mount` as Go encodes it (`Options` null when empty). */
export function mountsJson(mounts: readonly Mount[]): unknown {
  return mounts.map((m) => ({ Type: m.type, Source: m.source, Options: m.options.length === 0 ? null : m.options }));
}

/** ctr's `progress.Bytes`: `%02.1f %s` in powers of 1024 (`8.0 KiB`). */
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

/** The `containerd.io/gc.root` label ctr puts on what `prepare` and `commit` create (RFC 3339, seconds). */
export function gcRootNow(): Record<string, string> {
  return { "containerd.io/gc.root": new Date().toISOString().replace(/\.\d+Z$/, "Z") };
}

/** ctr's `LabelArgs`: `key=value`; a bare `key` means `key=true`. */
export function labelArgs(args: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf("=");
    if (i < 0) labels[a] = "true";
    else labels[a.slice(0, i)] = a.slice(i + 1);
  }
  return labels;
}
