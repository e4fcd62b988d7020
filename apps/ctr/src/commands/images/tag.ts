import type { Command } from "commander";
import { isAlreadyExists } from "@containerts/errdefs";
import { CommandError, println, withClient } from "../../cli.js";

/** `images tag [--force] <source_ref> <target_ref>...`: records each target with the source's target and labels. */
export function register(images: Command): void {
  images
    .command("tag")
    .description("tag an image")
    .argument("[refs...]")
    .option("--force", "force target_ref to be created, regardless if it already exists")
    .action(async (refs: string[], o: { force?: boolean }, c: Command) => {
      const [source, ...targets] = refs;
      if (source === undefined || source === "") throw new CommandError("please provide an image reference to tag from");
      if (targets.length === 0) throw new CommandError("please provide an image reference to tag to");
      await withClient(c, async (client, ctx) => {
        await client.withLease(ctx, async (ctx) => {
          const image = await client.images.get(ctx, source);
          for (const target of targets) {
            const input = { name: target, labels: image.labels, target: image.target };
            try {
              await client.images.create(ctx, input);
            } catch (err) {
              if (!isAlreadyExists(err) || o.force !== true) throw err;
              await client.images.delete(ctx, target);
              await client.images.create(ctx, input);
            }
            println(target);
          }
        });
      });
    });
}
