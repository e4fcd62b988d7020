import type { Command } from "commander";
import { println, withClient } from "../cli.js";
import { version, revision } from "../version.js";

/** `tsctr version`: the client and server versions. */
export function register(program: Command): void {
  program
    .command("version")
    .description("print the client and server versions")
    .action(async (_opts, cmd: Command) => {
      println("Client:");
      println(`  Version:  ${version}`);
      println(`  Revision: ${revision}`);
      println(`  Node version: ${process.version}`);
      println("");
      await withClient(cmd, async (client, ctx) => {
        const v = await client.version(ctx);
        println("Server:");
        println(`  Version:  ${v.version}`);
        println(`  Revision: ${v.revision}`);
        const s = await client.introspection.server(ctx);
        println(`  UUID: ${s.uuid}`);
      });
    });
}
