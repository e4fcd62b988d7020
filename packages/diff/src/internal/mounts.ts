/**
 * Temporary mounts (containerd's `mount.WithTempMount` / `WithReadonlyTempMount`), overlay option
 * parsing and the user-namespace check.
 */
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { withContext } from "@containerts/errdefs";
import { mountAll, unmountAllAsync, type Mount } from "@containerts/sys";

/**
 * True when this process runs in a user namespace other than the initial one (containerd's
 * `userns.RunningInUserNS`: anything but a full `0 0 4294967295` uid map).
 */
export function runningInUserNamespace(): boolean {
  try {
    const first = readFileSync("/proc/self/uid_map", "utf8").split("\n")[0] ?? "";
    const [a, b, c] = first.trim().split(/\s+/).map(Number);
    return !(a === 0 && b === 0 && c === 4294967295);
  } catch {
    return false;
  }
}

/** The `upperdir=` and `lowerdir=` of overlay options; `upper` is undefined when there is none. */
export function overlayDirs(options: readonly string[]): { upper?: string; lowers: string[] } {
  let upper: string | undefined;
  let lowers: string[] = [];
  for (const o of options) {
    if (o.startsWith("upperdir=")) upper = o.slice("upperdir=".length);
    else if (o.startsWith("lowerdir=")) lowers = o.slice("lowerdir=".length).split(":");
  }
  return upper === undefined || upper === "" ? { lowers } : { upper, lowers };
}

/**
 * The read-only form of mounts (containerd's `readonlyMounts`): overlay loses `upperdir`/`workdir`
 * (the upper directory becomes the top lower directory); other mounts get `ro` instead of `rw`/`ro`.
 */
export function readonlyMounts(mounts: readonly Mount[]): Mount[] {
  return mounts.map((m) => {
    if (m.type === "overlay") {
      let upper = "";
      const out: string[] = [];
      for (const o of m.options) {
        if (o.startsWith("upperdir=")) upper = o.slice("upperdir=".length);
        else if (!o.startsWith("workdir=")) out.push(o);
      }
      const options =
        upper === "" ? out : out.map((o) => (o.startsWith("lowerdir=") ? `lowerdir=${upper}:${o.slice("lowerdir=".length)}` : o));
      return { ...m, options };
    }
    return { ...m, options: [...m.options.filter((o) => o !== "rw" && o !== "ro"), "ro"] };
  });
}

/**
 * Mounts `mounts` on a fresh directory under `tempRoot`, runs `fn` with it, then unmounts everything
 * there and removes the directory, also when `fn` or a mount fails. The directory is removed with rmdir
 * only (never recursively), so a failed unmount can never delete the mounted data.
 */
export async function withTempMount<T>(tempRoot: string, mounts: readonly Mount[], fn: (root: string) => Promise<T>): Promise<T> {
  await mkdir(tempRoot, { recursive: true, mode: 0o700 });
  const root = await mkdtemp(join(tempRoot, "containerd-mount"));
  let result: T;
  try {
    try {
      mountAll(mounts, root);
    } catch (err) {
      throw withContext(err, `failed to mount ${root}`);
    }
    result = await fn(root);
  } finally {
    try {
      await unmountAllAsync(root);
    } catch (err) {
      // Leave the directory in place: removing it could remove data of a mount still there.
      // eslint-disable-next-line no-unsafe-finally
      throw withContext(err, `failed to unmount ${root}`);
    }
    await rmdir(root).catch(() => undefined);
  }
  return result;
}
