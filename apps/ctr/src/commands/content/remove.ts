import type { Command } from "commander";
import { isNotFound } from "@containerts/errdefs";

import { println, withClient } from "../../cli.js";
import { logLine, parseDigestArg } from "./shared.js";

/**
 * `content delete|del|remove|rm <digest>…`: deletes blobs, printing each one deleted. A missing blob is
 * skipped silently; other failures are logged and the first one ends the command with an error.
 */
export function register(c: Command): void {
  c.command("delete")
    .aliases(["del", "remove", "rm"])
    .description("permanently delete one or more blobs")
    .argument("[digests...]", "[<digest>, ...]")
    .action(async (args: string[], _o, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        let exitErr: unknown;
        for (const arg of args) {
          let dgst: string;
          try {
            dgst = parseDigestArg(arg);
          } catch (err) {
            exitErr ??= err;
            logLine("error", `could not delete ${arg}`, { error: err });
            continue;
          }
          try {
            await client.content.delete(ctx, dgst);
          } catch (err) {
            if (!isNotFound(err)) {
              exitErr ??= err;
              logLine("error", `could not delete ${dgst}`, { error: err });
            }
            continue;
          }
          println(dgst);
        }
        if (exitErr !== undefined) throw exitErr;
      });
    });
}
