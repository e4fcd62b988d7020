import type { Command } from "commander";
import { isNotFound } from "@containerts/errdefs";
import { CommandError, println, withClient } from "../../cli.js";
import { unmountAll } from "./mount.js";

/**
 * `images unmount [--rm] <target>`: unmounts the target; with `--rm` also deletes the lease and the
 * snapshot `images mount` created for it, as ctr.
 */
export function register(images: Command): void {
  images
    .command("unmount")
    .description("unmount the image from the target")
    .argument("[target]")
    .option("--rm", "remove the snapshot after a successful unmount")
    .option("--snapshotter <name>", "snapshotter name. Empty value stands for the default value.", process.env["CONTAINERD_SNAPSHOTTER"] ?? "")
    .action(async (target: string | undefined, o: { rm?: boolean; snapshotter: string }, c: Command) => {
      if (target === undefined || target === "") throw new CommandError("please provide a target path to unmount from");
      unmountAll(target);
      if (o.rm === true) {
        await withClient(c, async (client, ctx) => {
          try {
            await client.leases.delete(ctx, { id: target });
          } catch (err) {
            if (!isNotFound(err)) throw new CommandError(`error deleting lease: ${(err as Error).message}`);
          }
          try {
            await client.snapshots(o.snapshotter !== "" ? o.snapshotter : "overlayfs").remove(ctx, target);
          } catch (err) {
            if (!isNotFound(err)) throw new CommandError(`error removing snapshot: ${(err as Error).message}`);
          }
        });
      }
      println(target);
    });
}
