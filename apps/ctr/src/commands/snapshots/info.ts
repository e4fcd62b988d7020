import type { Command } from "commander";
import { println, withClient } from "../../cli.js";
import { goIndentJson, infoJson, snapshotterOf } from "./shared.js";

/** `snapshots info KEY`: the snapshot's info as ctr prints it (Go's JSON of `snapshots.Info`). */
export function register(s: Command): void {
  s.command("info")
    .description("get info about a snapshot")
    .argument("[args...]", "<key>")
    .action(async (args: string[], _o, cmd: Command) => {
      if (args.length !== 1) {
        cmd.outputHelp();
        return;
      }
      await withClient(cmd, async (client, ctx) => {
        println(goIndentJson(infoJson(await snapshotterOf(cmd, client).stat(ctx, args[0]!))));
      });
    });
}
