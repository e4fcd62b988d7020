import type { Command } from "commander";
import { withClient } from "../../cli.js";
import { gcRootNow, snapshotterOf } from "./shared.js";

/** `snapshots commit NAME ACTIVE`: commits ACTIVE as NAME labelled `containerd.io/gc.root=<now>`. */
export function register(s: Command): void {
  s.command("commit")
    .description("commit an active snapshot into the provided name")
    .argument("[args...]", "<key> <active>")
    .action(async (args: string[], _o, cmd: Command) => {
      if (args.length !== 2) {
        cmd.outputHelp();
        return;
      }
      const [name = "", active = ""] = args;
      await withClient(cmd, async (client, ctx) => {
        await snapshotterOf(cmd, client).commit(ctx, name, active, { labels: gcRootNow() });
      });
    });
}
