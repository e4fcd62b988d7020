import type { Command } from "commander";
import { println, withClient } from "../../cli.js";
import { TabWriter, wide } from "../../tabwriter.js";

/** `containers list|ls [-q] [filter…]`: ListStream (List on older servers), printed like ctr. */
export function register(c: Command): void {
  c.command("list")
    .alias("ls")
    .description("list containers")
    .argument("[filters...]", "[<filter>, ...]")
    .option("-q, --quiet", "print only the container id")
    .action(async (filters: string[], opts: { quiet?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const containers = await client.containers.list(ctx, filters);
        if (opts.quiet) {
          for (const ct of containers) println(ct.id);
          return;
        }
        const w = new TabWriter(wide);
        w.line("CONTAINER", "IMAGE", "RUNTIME", "");
        for (const ct of containers) w.line(ct.id, ct.image === "" ? "-" : ct.image, ct.runtime.name, "");
        w.flush();
      });
    });
}
