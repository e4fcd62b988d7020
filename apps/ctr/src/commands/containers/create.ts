import type { Command } from "commander";
import { CommandError, withClient } from "../../cli.js";
import { type ContainerFlags, addContainerFlags, newContainerFromFlags } from "../run/container-flags.js";

/**
 * `containers create [flags] IMAGE ID [COMMAND] [ARG...]` (ctr's `containers create`): `run`'s container
 * creation without a task — the image unpacked if needed, a snapshot named ID, the spec from the image
 * config and ctr's container flags.
 */
export function register(c: Command): void {
  // Flags after IMAGE belong to the command (ctr's argument handling), so options are positional.
  c.enablePositionalOptions();
  const cmd = c
    .command("create")
    .description("create container")
    .usage("[flags] Image|RootFS CONTAINER [COMMAND] [ARG...]")
    .argument("[image]")
    .argument("[id]")
    .argument("[command...]")
    .passThroughOptions();
  addContainerFlags(cmd);
  cmd.action(async (ref: string | undefined, id: string | undefined, args: string[], opts: ContainerFlags, command: Command) => {
    if (ref === undefined || ref === "") throw new CommandError("image ref must be provided: invalid argument");
    if (id === undefined || id === "") throw new CommandError("container id must be provided: invalid argument");
    await withClient(command, async (client, ctx) => {
      await newContainerFromFlags(client, ctx, ref, id, args, opts);
    });
  });
}
