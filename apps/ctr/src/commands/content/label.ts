import type { Command } from "commander";

import { objectWithLabelArgs, println, withClient } from "../../cli.js";
import { labelsString, parseDigestArg } from "./shared.js";

/**
 * `content label <digest> [<key>=<value>…]`: sets labels (an empty value unsets one) with one Update
 * whose field paths name each key, then prints the blob's labels. Without labels it only prints them.
 */
export function register(c: Command): void {
  c.command("label")
    .description("add labels to content")
    .argument("[args...]", "<digest> [<label>=<value> ...]")
    .action(async (args: string[], _o, cmd: Command) => {
      const [object, labels] = objectWithLabelArgs(args);
      await withClient(cmd, async (client, ctx) => {
        const dgst = parseDigestArg(object);
        const paths = Object.keys(labels).map((k) => `labels.${k}`);
        const set = Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ""));
        const info = paths.length === 0 ? await client.content.info(ctx, dgst) : await client.content.update(ctx, { digest: dgst, labels: set }, paths);
        println(labelsString(info.labels));
      });
    });
}
