import type { Command } from "commander";
import { CommandError, println, withClient } from "../../cli.js";

/** ctr's `LabelArgs`: `key=value`, and a bare `key` means `key=true`. */
function labelArgs(args: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf("=");
    if (i < 0) labels[a] = "true";
    else labels[a.slice(0, i)] = a.slice(i + 1);
  }
  return labels;
}

/**
 * `containers label CONTAINER [key=value…]`: Get, then one Update with mask `labels.<key>` per label
 * (an empty value clears it); prints the resulting labels as `k=v,…` (sorted; ctr's order is Go's map
 * order).
 */
export function register(c: Command): void {
  c.command("label")
    .description("set and clear labels for a container")
    .argument("[args...]", "CONTAINER [<key>=<value>, ...]")
    .action(async (args: string[], _o, cmd: Command) => {
      const [id = "", ...rest] = args;
      if (id === "") throw new CommandError("container id must be provided: invalid argument");
      const labels = labelArgs(rest);
      await withClient(cmd, async (client, ctx) => {
        await client.containers.get(ctx, id);
        const updated = await client.containers.update(ctx, { id, labels }, Object.keys(labels).map((k) => `labels.${k}`));
        println(
          Object.entries(updated.labels)
            .map(([k, v]) => `${k}=${v}`)
            .sort()
            .join(","),
        );
      });
    });
}
