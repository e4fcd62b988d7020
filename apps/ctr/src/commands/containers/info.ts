import type { Command } from "commander";
import { CommandError, println, withClient } from "../../cli.js";
import { containerInfoJson, decodeSpec, goIndentJson } from "./info-json.js";

/** `containers info [--spec] CONTAINER`: the record as ctr prints it, the spec decoded. */
export function register(c: Command): void {
  c.command("info")
    .description("get info about a container")
    .argument("[id]", "CONTAINER")
    .option("--spec", "only display the spec")
    .action(async (id: string | undefined, opts: { spec?: boolean }, cmd: Command) => {
      if (id === undefined || id === "") throw new CommandError("container id must be provided: invalid argument");
      await withClient(cmd, async (client, ctx) => {
        const ct = await client.containers.get(ctx, id);
        if (opts.spec) {
          if (ct.spec === undefined) throw new CommandError("empty any: invalid argument");
          println(goIndentJson(decodeSpec(ct.spec)));
          return;
        }
        println(containerInfoJson(ct));
      });
    });
}
