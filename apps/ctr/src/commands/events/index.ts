import type { Command } from "commander";
import { eventJson, goTimeString, subscribeEvents } from "@containerts/client";
import { withClient } from "../../cli.js";
import { logWarning } from "../tasks/shared.js";

/**
 * `events|event [filter…]`: prints every event the daemon publishes from now on, as ctr does:
 * `<timestamp> <namespace> <topic> <JSON of the decoded event>` (Go's time format, nanoseconds kept).
 * Events whose type cannot be decoded are skipped with a warning. Runs until interrupted.
 */
export function register(program: Command): void {
  program
    .command("events")
    .alias("event")
    .description("display containerd events")
    .argument("[filters...]")
    .action(async (filters: string[], _o, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        for await (const e of subscribeEvents(client, ctx, filters)) {
          let json = "";
          if (e.event.typeUrl !== "" || (e.event.value?.length ?? 0) > 0) {
            try {
              json = eventJson(e.event);
            } catch (err) {
              logWarning("cannot unmarshal an event from Any", err);
              continue;
            }
          }
          process.stdout.write(`${goTimeString(e.timestamp, e.timestampNanos ?? 0)} ${e.namespace} ${e.topic} ${json}\n`);
        }
      });
    });
}
