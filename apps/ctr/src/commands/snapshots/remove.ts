import type { Command } from "commander";
import { normalize } from "@containerts/errdefs";
import { CommandError, withClient } from "../../cli.js";
import { snapshotterOf } from "./shared.js";

/** `snapshots delete|del|remove|rm KEY…`: removes each key; the first failure ends the command. */
export function register(s: Command): void {
  s.command("delete")
    .aliases(["del", "remove", "rm"])
    .description("remove snapshots")
    .argument("[keys...]", "<key> [<key>, ...]")
    .action(async (keys: string[], _o, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const sn = snapshotterOf(cmd, client);
        for (const key of keys) {
          try {
            await sn.remove(ctx, key);
          } catch (err) {
            throw new CommandError(`failed to remove ${JSON.stringify(key)}: ${normalize(err).message}`);
          }
        }
      });
    });
}
