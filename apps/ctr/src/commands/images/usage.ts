import type { Command } from "commander";
import { chainIds, defaultPlatformMatcher, resolveManifest, readImageConfig, resolveSnapshotter } from "@containerts/client";
import { CommandError, withClient } from "../../cli.js";
import { TabWriter, narrow } from "../../tabwriter.js";
import { humanBytes, snapshotterFlag } from "./shared.js";

/**
 * `images usage [--snapshotter S] <ref>`: KEY SIZE INODES of each snapshot of the unpacked image, top
 * layer first (ctr 1.7's `images usage`).
 */
export function register(images: Command): void {
  const cmd = images.command("usage").description("display usage of snapshots for a given image ref").argument("[ref]");
  snapshotterFlag(cmd);
  cmd.action(async (ref: string | undefined, o: { snapshotter: string }, c: Command) => {
    if (ref === undefined || ref === "") throw new CommandError("please provide an image reference to mount");
    await withClient(c, async (client, ctx) => {
      const snapshotter = await resolveSnapshotter(client, ctx, o.snapshotter);
      let image;
      try {
        image = await client.images.get(ctx, ref);
      } catch (err) {
        throw new CommandError(`failed to ensure if image ${ref} exists: ${(err as Error).message}`);
      }
      const platform = defaultPlatformMatcher();
      if (!(await client.isUnpacked(ctx, image, { snapshotter, platform }))) {
        throw new CommandError(`image ${ref} isn't unpacked in snapshotter ${snapshotter}`);
      }
      const { manifest } = await resolveManifest(client.content, ctx, image.target, platform);
      const config = await readImageConfig(client.content, ctx, manifest.config);
      const sn = client.snapshots(snapshotter);
      const w = new TabWriter(narrow);
      w.line("KEY", "SIZE", "INODES", "");
      let key: string | undefined = chainIds(config.rootfs.diffIds).at(-1);
      while (key !== undefined && key !== "") {
        let usage;
        try {
          usage = await sn.usage(ctx, key);
        } catch (err) {
          throw new CommandError(`failed to get usage for snapshot ${key}: ${(err as Error).message}`);
        }
        w.line(key, humanBytes(usage.size), String(usage.inodes), "");
        key = (await sn.stat(ctx, key)).parent;
      }
      w.flush();
    });
  });
}
