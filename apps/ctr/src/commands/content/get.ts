import type { Command } from "commander";

import { withClient } from "../../cli.js";
import { parseDigestArg, writeStdout } from "./shared.js";

/** `content get <digest>`: the blob's bytes on stdout. */
export function register(c: Command): void {
  c.command("get")
    .description("get the data for an object")
    .argument("[digest]", "<digest>")
    .action(async (arg: string | undefined, _o, cmd: Command) => {
      const dgst = parseDigestArg(arg ?? "");
      await withClient(cmd, async (client, ctx) => {
        await client.content.info(ctx, dgst);
        for await (const chunk of client.content.read(ctx, dgst)) await writeStdout(chunk);
      });
    });
}
