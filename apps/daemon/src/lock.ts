/**
 * The root-directory lock: one containertsd per root. A pid file created atomically with link(2); a pid file
 * left by a dead process is taken over.
 */
import { readFileSync } from "node:fs";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AlreadyExistsError } from "@containerts/errdefs";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // A killed daemon its parent has not reaped yet is a zombie: it holds nothing any more.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** A held lock; `release()` removes the pid file if it is still ours. */
export interface RootLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Takes the lock on `root`, or fails naming the daemon that holds it. */
export async function lockRoot(root: string): Promise<RootLock> {
  await mkdir(root, { recursive: true, mode: 0o711 });
  const path = join(root, "containertsd.pid");
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${process.pid}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 2) throw err;
        const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
          throw new AlreadyExistsError(`root ${root} is in use by another containertsd (pid ${holder})`);
        }
        await unlink(path).catch(() => undefined);
      }
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return {
    path,
    async release() {
      const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (holder === process.pid) await unlink(path).catch(() => undefined);
    },
  };
}
