import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { isAlreadyExists, isNotFound } from "@containerts/errdefs";
import { defaultPlatformString, expirationLabels, onlyPlatform, parsePlatform } from "@containerts/client";
import { CommandError, println, withClient } from "../../cli.js";
import { snapshotterFlag } from "./shared.js";

/** A mount as the snapshotter returns it. */
export interface HostMount {
  readonly type: string;
  readonly source: string;
  readonly options: readonly string[];
}

/** Mounts `mounts` on `target` in order with mount(8) (containerd's `mount.All`). */
export function mountAll(mounts: readonly HostMount[], target: string): void {
  for (const m of mounts) {
    const opts = m.options.join(",");
    const args = m.type === "bind" || m.type === "rbind"
      ? [...(opts !== "" ? ["-o", opts] : ["--bind"]), m.source, target]
      : ["-t", m.type, ...(opts !== "" ? ["-o", opts] : []), m.source, target];
    const r = spawnSync("mount", args, { encoding: "utf8" });
    if (r.status !== 0) throw new CommandError(`failed to mount ${m.source} on ${target}: ${(r.stderr || r.error?.message || "").trim()}`);
  }
}

/** How many times `target` is mounted (stacked mounts count each). */
export function mountCount(target: string): number {
  const abs = resolve(target);
  let n = 0;
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (mp === undefined) continue;
    const p = mp.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (p === abs) n++;
  }
  return n;
}

/** Unmounts everything mounted on `target` (containerd's `mount.UnmountAll`). */
export function unmountAll(target: string): void {
  for (let i = mountCount(target); i > 0; i--) {
    const r = spawnSync("umount", [target], { encoding: "utf8" });
    if (r.status !== 0) throw new CommandError(`failed to unmount ${target}: ${(r.stderr || r.error?.message || "").trim()}`);
  }
}

/**
 * `images mount [--rw] [--platform P] <ref> <target>`: unpacks the image if needed, creates a view (or,
 * with `--rw`, an active snapshot) keyed by the target path under a lease of the same id, mounts it on
 * the target and prints the chain ID and the target, as ctr.
 */
export function register(images: Command): void {
  const cmd = images
    .command("mount")
    .description("mount an image to a target path")
    .argument("[ref]")
    .argument("[target]")
    .option("--rw", "Enable write support on the mount")
    .option("--platform <platform>", "Mount the image for the specified platform", defaultPlatformString());
  snapshotterFlag(cmd);
  cmd.action(async (ref: string | undefined, target: string | undefined, o: { rw?: boolean; platform: string; snapshotter: string }, c: Command) => {
    if (ref === undefined || ref === "") throw new CommandError("please provide an image reference to mount");
    if (target === undefined || target === "") throw new CommandError("please provide a target path to mount to");
    await withClient(c, async (client, ctx) => {
      const snapshotter = o.snapshotter !== "" ? o.snapshotter : "overlayfs";
      let created = false;
      try {
        await client.leases.create(ctx, {
          id: target,
          labels: { ...expirationLabels(24 * 3600 * 1000), [`containerd.io/gc.ref.snapshot.${snapshotter}`]: target },
        });
        created = true;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const lctx = { ...ctx, leaseId: target };
      try {
        const image = await client.images.get(lctx, ref);
        const r = await client.unpack(lctx, image, { snapshotter, platform: onlyPlatform(parsePlatform(o.platform)) });
        println(r.chainId);
        const sn = client.snapshots(snapshotter);
        let mounts;
        try {
          mounts = o.rw === true ? await sn.prepare(lctx, target, r.chainId) : await sn.view(lctx, target, r.chainId);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          mounts = await sn.mounts(lctx, target);
        }
        try {
          mountAll(mounts, target);
        } catch (err) {
          await sn.remove(lctx, target).catch((e: unknown) => {
            if (!isNotFound(e)) process.stderr.write(`Error cleaning up snapshot after mount error: ${(e as Error).message}\n`);
          });
          throw err;
        }
        println(target);
      } catch (err) {
        if (created) await client.leases.delete(ctx, { id: target }).catch(() => undefined);
        throw err;
      }
    });
  });
}
