import type { Command } from "commander";
import { withClient } from "../../cli.js";

/** `tasks pause CONTAINER`: freezes the task's processes. */
export function register(t: Command): void {
  t.command("pause")
    .description("pause an existing container")
    .argument("[id]", "CONTAINER")
    .action(async (id: string | undefined, _o, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const container = await client.loadContainer(ctx, id ?? "");
        await (await container.task(ctx)).pause(ctx);
      });
    });
}
