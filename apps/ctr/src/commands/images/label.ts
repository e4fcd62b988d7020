import type { Command } from "commander";
import { CommandError, objectWithLabelArgs, println, withClient } from "../../cli.js";

/** `images label [-r] <name> [<key>=<value>...]`: sets (empty value: clears) labels and prints the result. */
export function register(images: Command): void {
  images
    .command("label")
    .description("set and clear labels for an image")
    .argument("[args...]")
    .option("-r, --replace-all", "replace all labels")
    .action(async (args: string[], o: { replaceAll?: boolean }, c: Command) => {
      const [name, labels] = objectWithLabelArgs(args);
      if (name === "") throw new CommandError("please specify an image");
      const keys = Object.keys(labels);
      const fieldpaths = o.replaceAll === true ? ["labels"] : keys.map((k) => `labels.${k}`);
      await withClient(c, async (client, ctx) => {
        const updated = keys.length === 0 ? await client.images.get(ctx, name) : await client.images.update(ctx, { name, labels }, fieldpaths);
        println(Object.entries(updated.labels).map(([k, v]) => `${k}=${v}`).sort().join(","));
      });
    });
}
