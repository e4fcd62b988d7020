import type { Command } from "commander";
import { withClient } from "../../cli.js";

/** `tasks resume CONTAINER`: thaws a paused task. */
export function register(t: Command): void {
  t.command("resume")
    .description("resume a paused container")
    .argument("[id]", "CONTAINER")
    .action(async (id: string | undefined, _o, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const container = await client.loadContainer(ctx, id ?? "");
        await (await container.task(ctx)).resume(ctx);
      });
    });
}
