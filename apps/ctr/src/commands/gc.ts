import type { Command } from "commander";

import { withClient } from "../cli.js";
import { expiryLabel } from "./leases/index.js";

/**
 * `tsctr gc`: runs a garbage collection now and waits for it. The daemon API has no GC call; as
 * `ctr content prune` does, a temporary lease is created and deleted with `sync`, which makes the
 * daemon collect before answering.
 */
export function register(program: Command): void {
  program
    .command("gc")
    .description("run a garbage collection in the daemon and wait for it to finish")
    .action(async (_o, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const lease = await client.leases.create(ctx, { labels: expiryLabel(3_600_000) });
        await client.leases.delete(ctx, lease, { sync: true });
      });
    });
}
