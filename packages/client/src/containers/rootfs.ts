/**
 * Reading a container's root filesystem from the client, as containerd's spec options do to resolve users
 * and groups: mount the snapshot read-only in a temporary directory (containerd's `mount.WithTempMount`),
 * resolve paths inside it without escaping it (continuity's `fs.RootPath`), and parse `/etc/passwd` and
 * `/etc/group` (runc's `libcontainer/user`).
 */
import { lstatSync, readlinkSync } from "node:fs";
import { mkdtemp, readFile, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "@containerts/errdefs";
import { type Mount, mountAll, unmountAllAsync } from "@containerts/sys";

/** A `/etc/passwd` entry. */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/** A `/etc/group` entry. */
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  /** The member user names. */
  readonly members: readonly string[];
}

/** Go's `strconv.Atoi` with errors read as 0, as runc's parser does for numeric fields. */
function atoi(s: string): number {
  return /^[+-]?\d+$/.test(s) ? Number.parseInt(s, 10) : 0;
}

/** Parses `/etc/passwd` text (blank lines skipped; malformed numbers read as 0, as runc does). */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const f = line.split(":");
    out.push({ name: f[0] ?? "", uid: atoi(f[2] ?? ""), gid: atoi(f[3] ?? ""), home: f[5] ?? "", shell: f[6] ?? "" });
  }
  return out;
}

/** Parses `/etc/group` text. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const f = line.split(":");
    const list = f[3] ?? "";
    out.push({ name: f[0] ?? "", gid: atoi(f[2] ?? ""), members: list === "" ? [] : list.split(",") });
  }
  return out;
}

const MAX_SYMLINKS = 255;

/**
 * Resolves `path` inside `root` as if `root` were `/` (continuity's `fs.RootPath`): `..` stops at `root`,
 * symlinks are followed relative to `root` (absolute targets restart at `root`), and components that do
 * not exist are appended as they are. The result always lies inside `root`.
 * @throws InvalidArgumentError after too many symlinks.
 */
export function resolveInRoot(root: string, path: string): string {
  const stack: string[] = [];
  const queue = path.split("/").filter((p) => p !== "" && p !== ".");
  let links = 0;
  while (queue.length > 0) {
    const part = queue.shift() as string;
    if (part === "..") {
      stack.pop();
      continue;
    }
    const candidate = join(root, ...stack, part);
    let target: string | undefined;
    try {
      if (lstatSync(candidate).isSymbolicLink()) target = readlinkSync(candidate);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
    }
    if (target === undefined) {
      stack.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new InvalidArgumentError(`too many links resolving ${path} in ${root}`);
    if (target.startsWith("/")) stack.length = 0;
    queue.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
  }
  return join(root, ...stack);
}

/** Reads `/etc/<file>` of a root filesystem, or undefined when it does not exist. */
async function readEtc(root: string, file: "passwd" | "group"): Promise<string | undefined> {
  try {
    return await readFile(resolveInRoot(root, `/etc/${file}`), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The `/etc/passwd` entries of a root filesystem; undefined when the file does not exist. */
export async function readPasswd(root: string): Promise<PasswdEntry[] | undefined> {
  const text = await readEtc(root, "passwd");
  return text === undefined ? undefined : parsePasswd(text);
}

/** The `/etc/group` entries of a root filesystem; undefined when the file does not exist. */
export async function readGroup(root: string): Promise<GroupEntry[] | undefined> {
  const text = await readEtc(root, "group");
  return text === undefined ? undefined : parseGroup(text);
}

/**
 * containerd's `tryReadonlyMounts`: a single overlay mount gets `ro`, so unmounting does not sync the whole
 * file system. Other mount sets are returned unchanged.
 */
export function readonlyMounts(mounts: readonly Mount[]): Mount[] {
  if (mounts.length === 1 && mounts[0]!.type === "overlay") return [{ ...mounts[0]!, options: [...mounts[0]!.options, "ro"] }];
  return [...mounts];
}

/**
 * Mounts `mounts` in a new temporary directory, runs `fn` with its path, then unmounts everything and
 * removes the directory, also when `fn` throws (containerd's `mount.WithTempMount`). Needs the privilege
 * to mount (root).
 * @throws the mount's SysError, or what `fn` throws.
 */
export async function withTempMount<T>(mounts: readonly Mount[], fn: (root: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "containerd-mount"));
  try {
    try {
      mountAll(mounts, dir);
      return await fn(dir);
    } finally {
      // Also after a partial mountAll: what was mounted comes off before the directory goes.
      await unmountAllAsync(dir);
    }
  } finally {
    await rmdir(dir);
  }
}
