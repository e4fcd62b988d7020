import type { Command } from "commander";
import { println, withClient } from "../../cli.js";
import { labelArgs, snapshotterOf } from "./shared.js";

/**
 * `snapshots label KEY [k=v…]`: one Update with mask `labels.<k>` per label (an empty value clears it;
 * no labels: Stat); prints the resulting labels as `k=v,…` (sorted; ctr's order is Go's map order).
 */
export function register(s: Command): void {
  s.command("label")
    .description("add labels to content")
    .argument("[args...]", "<name> [<label>=<value> ...]")
    .action(async (args: string[], _o, cmd: Command) => {
      const [key = "", ...rest] = args;
      const labels = labelArgs(rest);
      await withClient(cmd, async (client, ctx) => {
        const sn = snapshotterOf(cmd, client);
        const paths = Object.keys(labels).map((k) => `labels.${k}`);
        const set = Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ""));
        const info = paths.length === 0 ? await sn.stat(ctx, key) : await sn.update(ctx, { name: key, labels: set }, paths);
        println(
          Object.entries(info.labels)
            .map(([k, v]) => `${k}=${v}`)
            .sort()
            .join(","),
        );
      });
    });
}
