import type { Command } from "commander";
import { isNotFound } from "@containerts/errdefs";
import { CommandError, println, withClient } from "../../cli.js";

/**
 * `images delete|del|remove|rm [--sync] <ref>...`: deletes each image and prints its name; a missing
 * one is a warning; `--sync` makes the last delete wait for the garbage collection, as ctr.
 */
export function register(images: Command): void {
  images
    .command("delete")
    .aliases(["del", "remove", "rm"])
    .description("remove one or more images by reference")
    .argument("[refs...]")
    .option("--sync", "Synchronously remove image and all associated resources")
    .action(async (refs: string[], o: { sync?: boolean }, c: Command) => {
      await withClient(c, async (client, ctx) => {
        let failure: string | undefined;
        for (const [i, ref] of refs.entries()) {
          try {
            await client.images.delete(ctx, ref, { sync: o.sync === true && i === refs.length - 1 });
            println(ref);
          } catch (err) {
            if (isNotFound(err)) {
              process.stderr.write(`WARN[0000] ${ref}: image not found\n`);
              continue;
            }
            process.stderr.write(`ERRO[0000] unable to delete ${ref}  error="${(err as Error).message}"\n`);
            failure ??= `unable to delete ${ref}: ${(err as Error).message}`;
          }
        }
        if (failure !== undefined) throw new CommandError(failure);
      });
    });
}
