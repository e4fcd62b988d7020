import type { Command } from "commander";
import { withClient } from "../../cli.js";
import { printMounts, snapshotterOf } from "./shared.js";

/** `snapshots mounts|mount|m TARGET KEY`: the mount commands that expose KEY at TARGET. */
export function register(s: Command): void {
  s.command("mounts")
    .aliases(["m", "mount"])
    .description("mount gets mount commands for the snapshots")
    .argument("[args...]", "<target> <key>")
    .action(async (args: string[], _o, cmd: Command) => {
      if (args.length !== 2) {
        cmd.outputHelp();
        return;
      }
      const [target = "", key = ""] = args;
      await withClient(cmd, async (client, ctx) => {
        printMounts(target, await snapshotterOf(cmd, client).mounts(ctx, key));
      });
    });
}
