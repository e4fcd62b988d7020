import type { Command } from "commander";

import { withClient } from "../../cli.js";
import { TabWriter, tabbed } from "../../tabwriter.js";
import { humanDuration, humanSize } from "./shared.js";

/**
 * `content active [<filter>]`: REF, SIZE (bytes so far), AGE of the ingests in progress. As in ctr, the
 * argument is passed to the server as a filter (none lists all).
 */
export function register(c: Command): void {
  c.command("active")
    .description("display active transfers")
    .argument("[filter]", "<regexp>")
    .option("-t, --timeout <duration>", "total timeout for fetch")
    .option("--root <path>", "path to content store root", "/tmp/content")
    .action(async (match: string | undefined, _o, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const active = await client.content.listStatuses(ctx, [match ?? ""]);
        const w = new TabWriter(tabbed);
        w.line("REF", "SIZE", "AGE", "");
        for (const s of active) w.line(s.ref, humanSize(s.offset), humanDuration(s.startedAt), "");
        w.flush();
      });
    });
}
