import { readFileSync, realpathSync } from "node:fs";
import { resolve } from "node:path";

/** One line of `/proc/self/mountinfo` (see proc(5)), with octal escapes decoded. */
export interface MountInfo {
  /** Unique id of the mount. */
  readonly id: number;
  /** Id of the parent mount. */
  readonly parent: number;
  /** Major number of the device holding the filesystem. */
  readonly major: number;
  /** Minor number of the device holding the filesystem. */
  readonly minor: number;
  /** The path inside the filesystem that forms the root of this mount (not "/" for bind mounts). */
  readonly root: string;
  /** Where it is mounted, relative to the process's root. */
  readonly mountPoint: string;
  /** Per-mount options (`rw,nosuid,…`). */
  readonly options: string;
  /** Optional fields (`shared:1`, `master:2`, …). */
  readonly optional: readonly string[];
  /** Filesystem type (`overlay`, `tmpfs`, …). */
  readonly fsType: string;
  /** Mount source (`overlay`, `/dev/sda1`, …). */
  readonly source: string;
  /** Per-superblock options. */
  readonly superOptions: string;
}

/** Decodes mountinfo's octal escapes (`\040` for a space, `\011`, `\012`, `\134`). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** Parses the text of a mountinfo file; lines that do not parse are skipped. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const fields = line.split(" ");
    const sep = fields.indexOf("-", 6);
    if (sep === -1 || sep + 3 >= fields.length) continue;
    const [id, parent, dev, root, mountPoint, options] = fields as [string, string, string, string, string, string];
    const [major, minor] = dev.split(":");
    out.push({
      id: Number(id),
      parent: Number(parent),
      major: Number(major),
      minor: Number(minor),
      root: unescape(root),
      mountPoint: unescape(mountPoint),
      options,
      optional: fields.slice(6, sep),
      fsType: unescape(fields[sep + 1] ?? ""),
      source: unescape(fields[sep + 2] ?? ""),
      superOptions: fields[sep + 3] ?? "",
    });
  }
  return out;
}

/** Reads this process's mount table from `/proc/self/mountinfo`, in mount order (parents first). */
export function readMountInfo(): MountInfo[] {
  return parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"));
}

/** The canonical form of `path` as mountinfo shows it: symlinks resolved when it exists, else made absolute. */
function canonical(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * True when `path` is a mount point in this process's mount namespace (it appears as a mount point in
 * `/proc/self/mountinfo`, after symlinks in `path` are resolved). False for a path that does not exist.
 */
export function isMountPoint(path: string): boolean {
  const p = canonical(path);
  if (p === undefined) return false;
  return readMountInfo().some((m) => m.mountPoint === p);
}

/**
 * The mount points at or below `prefix`, each once, in mount order (parents before children), so that
 * cleanup unmounts them in reverse. `prefix` is resolved like {@link isMountPoint}; a missing prefix
 * is taken literally.
 */
export function mountsUnder(prefix: string): string[] {
  const p = canonical(prefix) ?? resolve(prefix);
  const under = p === "/" ? "/" : `${p}/`;
  const seen = new Set<string>();
  for (const m of readMountInfo()) {
    if (m.mountPoint === p || m.mountPoint.startsWith(under)) seen.add(m.mountPoint);
  }
  return [...seen];
}
