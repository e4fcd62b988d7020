/**
 * Path handling for extraction inside a jail: Go's `filepath.Clean` and continuity's `fs.RootPath`
 * (symlinks followed as if the root were `/`, `..` never climbing above it), done component by
 * component with lstat so no symlink is ever followed by the kernel.
 */
import { lstatSync, readlinkSync } from "node:fs";
import { InvalidArgumentError } from "@containerts/errdefs";

/** Linux's PATH_MAX and NAME_MAX. */
export const PATH_MAX = 4096;
export const NAME_MAX = 255;
/** How many symlinks one resolution may follow (continuity's limit). */
export const MAX_SYMLINKS = 255;

/** Go's `path.Clean`: lexical normalisation; `..` at the start of a relative path is kept. */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const c of p.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(c);
  }
  const s = out.join("/");
  if (rooted) return `/${s}`;
  return s === "" ? "." : s;
}

/** Splits a cleaned path into its parent and last component (Go's `filepath.Split` after Clean). */
export function splitPath(clean: string): [parent: string, base: string] {
  const i = clean.lastIndexOf("/");
  if (i === -1) return ["", clean];
  return [clean.slice(0, i + 1), clean.slice(i + 1)];
}

/** The components of a path, without empty and `.` ones. */
export function components(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/** The result of resolving a path inside a root. */
export interface Resolved {
  /** The host path: the root joined with `parts`. */
  readonly host: string;
  /** The resolved components below the root (no symlinks among the existing ones, no `..`). */
  readonly parts: readonly string[];
  /** How many leading `parts` exist as real directories; the rest do not exist. */
  readonly existing: number;
}

/**
 * Resolves `rel` under `root` like continuity's `RootPath`: every component is lstat'ed; a symlink is
 * replaced by its target (an absolute target restarts at the root), `..` pops a component but never the
 * root. Components after the first missing one are appended as they are.
 *
 * With `strict`, an existing component that is neither a directory nor a symlink is an error
 * (the caller wants a directory); without it, such a component ends the resolution like a missing one.
 *
 * @throws InvalidArgumentError on a symlink loop (more than {@link MAX_SYMLINKS} links) or, with
 *   `strict`, on a non-directory in the path.
 */
export function resolveInRoot(root: string, rel: string, strict: boolean): Resolved {
  const stack: string[] = [];
  let existing = 0;
  const queue = components(rel);
  let links = 0;
  while (queue.length > 0) {
    const part = queue.shift() as string;
    if (part === "..") {
      stack.pop();
      if (existing > stack.length) existing = stack.length;
      continue;
    }
    if (existing < stack.length) {
      stack.push(part);
      continue;
    }
    const candidate = joinHost(root, stack, part);
    let st;
    try {
      st = lstatSync(candidate, { bigint: false });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") throw err;
      stack.push(part);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) {
        throw new InvalidArgumentError(`path ${JSON.stringify(rel)}: too many levels of symbolic links`);
      }
      const target = readlinkSync(candidate);
      if (target.startsWith("/")) {
        stack.length = 0;
        existing = 0;
      }
      queue.unshift(...components(target));
      continue;
    }
    stack.push(part);
    if (st.isDirectory()) {
      existing = stack.length;
    } else if (strict) {
      throw new InvalidArgumentError(`path ${JSON.stringify(rel)}: ${JSON.stringify(stack.join("/"))} is not a directory`);
    }
  }
  return { host: joinHost(root, stack), parts: stack, existing };
}

/** Joins host path pieces with `/` (the root is absolute and clean). */
export function joinHost(root: string, parts: readonly string[], last?: string): string {
  let s = root === "/" ? "" : root;
  for (const p of parts) s += `/${p}`;
  if (last !== undefined) s += `/${last}`;
  return s === "" ? "/" : s;
}

/**
 * Checks an entry name against Linux's limits before anything touches the disk.
 * @throws InvalidArgumentError for a NUL byte, a path over {@link PATH_MAX} bytes or a component over
 *   {@link NAME_MAX} bytes.
 */
export function validateName(name: string, what: string): void {
  if (name.includes("\0")) throw new InvalidArgumentError(`${what} ${JSON.stringify(name)} contains a NUL byte`);
  if (Buffer.byteLength(name) >= PATH_MAX) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(name.slice(0, 64))}…: name too long`);
  }
  for (const c of name.split("/")) {
    if (Buffer.byteLength(c) > NAME_MAX) {
      throw new InvalidArgumentError(`${what} ${JSON.stringify(name.slice(0, 64))}…: component too long`);
    }
  }
}
