import { lstatSync, readlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { InvalidArgumentError } from "@containerts/errdefs";

const MAX_SYMLINKS = 255;

/**
 * Joins `path` under `root` the way continuity's `fs.RootPath` does: `..` never climbs above `root`,
 * and symlinks met on the way are followed as if `root` were "/" (an absolute link target restarts at
 * `root`). Components that do not exist are appended as they are. The result always lies inside `root`.
 */
export function rootPath(root: string, path: string): string {
  const base = resolve(root);
  const stack: string[] = [];
  const queue = split(path);
  let links = 0;
  while (queue.length > 0) {
    const part = queue.shift() as string;
    if (part === "..") {
      stack.pop();
      continue;
    }
    const candidate = join(base, ...stack, part);
    let isLink = false;
    try {
      isLink = lstatSync(candidate).isSymbolicLink();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
    }
    if (!isLink) {
      stack.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new InvalidArgumentError(`path ${path} under ${root}: too many symlinks`);
    const dest = readlinkSync(candidate);
    if (dest.startsWith("/")) stack.length = 0;
    queue.unshift(...split(dest));
  }
  return join(base, ...stack);
}

function split(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}
