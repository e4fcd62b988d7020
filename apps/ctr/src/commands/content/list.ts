import type { Command } from "commander";

import { println, withClient } from "../../cli.js";
import { TabWriter, tabbed } from "../../tabwriter.js";
import { humanDuration, humanSize, labelsString } from "./shared.js";

/** `content list|ls [-q] [filters…]`: DIGEST, SIZE, AGE, LABELS of every blob (tab-padded, as ctr). */
export function register(c: Command): void {
  c.command("list")
    .alias("ls")
    .description("list all blobs in the store")
    .argument("[filters...]")
    .option("-q, --quiet", "print only the blob digest")
    .action(async (filters: string[], opts: { quiet?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        if (opts.quiet) {
          await client.content.walk(ctx, (info) => println(info.digest), filters);
          return;
        }
        const w = new TabWriter(tabbed);
        w.line("DIGEST", "SIZE", "AGE", "LABELS");
        try {
          await client.content.walk(
            ctx,
            (info) => w.line(info.digest, humanSize(info.size), humanDuration(info.createdAt), labelsString(info.labels) || "-"),
            filters,
          );
        } finally {
          w.flush();
        }
      });
    });
}
