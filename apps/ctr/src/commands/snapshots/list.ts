import type { Command } from "commander";
import { withClient } from "../../cli.js";
import { TabWriter, narrow } from "../../tabwriter.js";
import { kindDisplayName, snapshotterOf } from "./shared.js";

/** `snapshots list|ls`: KEY, PARENT, KIND of every snapshot (arguments are ignored, as by ctr). */
export function register(s: Command): void {
  s.command("list")
    .alias("ls")
    .description("list snapshots")
    .argument("[ignored...]")
    .action(async (_args: string[], _o, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const w = new TabWriter(narrow);
        w.line("KEY", "PARENT", "KIND", "");
        // As ctr: nothing is printed when the walk fails.
        await snapshotterOf(cmd, client).walk(ctx, (info) => {
          w.line(info.name, info.parent ?? "", kindDisplayName(info.kind), "");
        });
        w.flush();
      });
    });
}
