import type { Command } from "commander";
import { withClient } from "../../cli.js";
import { TabWriter, narrow } from "../../tabwriter.js";
import { humanBytes, snapshotterOf } from "./shared.js";

/** `snapshots usage [-b] [KEY…]`: size and inodes of the keys, or of every snapshot. */
export function register(s: Command): void {
  s.command("usage")
    .description("usage snapshots")
    .argument("[keys...]", "[<key>, ...]")
    .option("-b", "display size in bytes")
    .action(async (keys: string[], opts: { b?: boolean }, cmd: Command) => {
      const size = opts.b ? (n: number) => String(n) : humanBytes;
      await withClient(cmd, async (client, ctx) => {
        const sn = snapshotterOf(cmd, client);
        const w = new TabWriter(narrow);
        w.line("KEY", "SIZE", "INODES", "");
        if (keys.length === 0) {
          const names: string[] = [];
          await sn.walk(ctx, (info) => {
            names.push(info.name);
          });
          keys = names;
        }
        for (const key of keys) {
          const u = await sn.usage(ctx, key);
          w.line(key, size(u.size), String(u.inodes), "");
        }
        w.flush();
      });
    });
}
