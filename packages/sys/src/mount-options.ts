import { posix } from "node:path";
import { MS } from "./constants.js";

/** The result of {@link parseMountOptions}. */
export interface ParsedMountOptions {
  /** mount(2) flags for the main call; never includes a propagation type. */
  readonly flags: number;
  /**
   * Propagation change applied by a separate mount(2) call after the main one: one of `MS.PRIVATE`,
   * `MS.SHARED`, `MS.SLAVE`, `MS.UNBINDABLE` (the last word given wins), with `MS.REC` for the `r…` forms;
   * 0 when no propagation word was given.
   */
  readonly propagation: number;
  /** Filesystem-specific options (every word that is not a flag), joined with ",". */
  readonly data: string;
  /** Present and true when the `loop` option asks for the source to be attached to a loop device. */
  readonly loopSetup?: boolean;
}

interface FlagWord {
  readonly clear: boolean;
  readonly flag: number;
}

// containerd's table (mount/mount_linux.go), word for word.
const FLAG_WORDS: ReadonlyMap<string, FlagWord> = new Map([
  ["async", { clear: true, flag: MS.SYNCHRONOUS }],
  ["atime", { clear: true, flag: MS.NOATIME }],
  ["bind", { clear: false, flag: MS.BIND }],
  ["dev", { clear: true, flag: MS.NODEV }],
  ["diratime", { clear: true, flag: MS.NODIRATIME }],
  ["dirsync", { clear: false, flag: MS.DIRSYNC }],
  ["exec", { clear: true, flag: MS.NOEXEC }],
  ["mand", { clear: false, flag: MS.MANDLOCK }],
  ["noatime", { clear: false, flag: MS.NOATIME }],
  ["nodev", { clear: false, flag: MS.NODEV }],
  ["nodiratime", { clear: false, flag: MS.NODIRATIME }],
  ["noexec", { clear: false, flag: MS.NOEXEC }],
  ["nomand", { clear: true, flag: MS.MANDLOCK }],
  ["norelatime", { clear: true, flag: MS.RELATIME }],
  ["nostrictatime", { clear: true, flag: MS.STRICTATIME }],
  ["nosuid", { clear: false, flag: MS.NOSUID }],
  ["rbind", { clear: false, flag: MS.BIND | MS.REC }],
  ["relatime", { clear: false, flag: MS.RELATIME }],
  ["remount", { clear: false, flag: MS.REMOUNT }],
  ["ro", { clear: false, flag: MS.RDONLY }],
  ["rw", { clear: true, flag: MS.RDONLY }],
  ["strictatime", { clear: false, flag: MS.STRICTATIME }],
  ["suid", { clear: true, flag: MS.NOSUID }],
  ["sync", { clear: false, flag: MS.SYNCHRONOUS }],
]);

// Propagation words (as in moby's mount.ParseOptions and later containerd releases).
const PROPAGATION_WORDS: ReadonlyMap<string, number> = new Map([
  ["private", MS.PRIVATE],
  ["rprivate", MS.PRIVATE | MS.REC],
  ["shared", MS.SHARED],
  ["rshared", MS.SHARED | MS.REC],
  ["slave", MS.SLAVE],
  ["rslave", MS.SLAVE | MS.REC],
  ["unbindable", MS.UNBINDABLE],
  ["runbindable", MS.UNBINDABLE | MS.REC],
]);

/**
 * Parses fstab-style mount options the way containerd does: known flag words set or clear mount(2)
 * flags in order (`ro` then `rw` leaves the mount writable), `loop` asks for a loop device, and every
 * other word is filesystem data, joined with "," in its original order. Propagation words (`private`,
 * `rprivate`, `shared`, `rshared`, `slave`, `rslave`, `unbindable`, `runbindable`) are returned apart,
 * because the kernel applies them with their own mount(2) call.
 *
 * One deliberate difference from containerd 1.6: `defaults` is consumed as a no-op instead of being
 * passed on as data (where most filesystems reject it).
 */
export function parseMountOptions(options: readonly string[]): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  let loopSetup = false;
  const data: string[] = [];
  for (const option of options) {
    const word = FLAG_WORDS.get(option);
    const prop = PROPAGATION_WORDS.get(option);
    if (word !== undefined) {
      flags = word.clear ? flags & ~word.flag : flags | word.flag;
    } else if (prop !== undefined) {
      propagation = prop;
    } else if (option === "loop") {
      loopSetup = true;
    } else if (option !== "defaults") {
      data.push(option);
    }
  }
  const parsed = { flags, propagation, data: data.join(",") };
  return loopSetup ? { ...parsed, loopSetup } : parsed;
}

/** The byte size of options as containerd counts it (the words, without separators). */
export function optionsSize(options: readonly string[]): number {
  let size = 0;
  for (const o of options) size += Buffer.byteLength(o);
  return size;
}

/**
 * containerd's overlay trick for long `lowerdir` options: finds the directory shared by every lower
 * directory (one level above their longest common prefix, since snapshot ids are numbers) and rewrites
 * `lowerdir=` with paths relative to it, moved to the end of the options. Returns `chdir: ""` and the
 * options unchanged when there is nothing to gain (one lower, no common directory, or only "/").
 */
export function compactLowerdirOption(options: readonly string[]): { chdir: string; options: string[] } {
  const idx = options.findIndex((o) => o.startsWith("lowerdir="));
  const unchanged = { chdir: "", options: [...options] };
  if (idx === -1) return unchanged;
  const dirs = (options[idx] as string).slice("lowerdir=".length).split(":");
  if (dirs.length === 1) return unchanged;
  const common = longestCommonPrefix(dirs);
  if (common === "") return unchanged;
  const parent = goPathDir(common);
  if (parent === "/" || parent === ".") return unchanged;
  const chdir = `${parent}/`;
  const rewritten = options.filter((_, i) => i !== idx);
  rewritten.push(`lowerdir=${dirs.map((d) => d.slice(chdir.length)).join(":")}`);
  return { chdir, options: rewritten };
}

function longestCommonPrefix(strs: readonly string[]): string {
  let min = strs[0] ?? "";
  let max = min;
  for (const s of strs) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  let i = 0;
  while (i < min.length && i < max.length && min[i] === max[i]) i++;
  return min.slice(0, i);
}

/** Go's path.Dir: everything before the last "/", cleaned ("/a/b/" → "/a/b", "/a/b" → "/a", "a" → "."). */
function goPathDir(p: string): string {
  const slash = p.lastIndexOf("/");
  if (slash === -1) return ".";
  const dir = posix.normalize(p.slice(0, slash + 1));
  return dir.length > 1 && dir.endsWith("/") ? dir.slice(0, -1) : dir;
}
