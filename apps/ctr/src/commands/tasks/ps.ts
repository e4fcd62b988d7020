import type { Command } from "commander";
import { InvalidArgumentError } from "@containerts/errdefs";
import { CommandError, withClient } from "../../cli.js";
import { TabWriter } from "../../tabwriter.js";

/**
 * `tasks ps CONTAINER`: the processes of a task (PID, INFO). INFO is `-`, or for the runc shims' exec
 * processes the Go `%+v` of `ProcessDetails` (`&ProcessDetails{ExecID:e1,XXX_unrecognized:[],}`), as ctr
 * prints it.
 */
export function register(t: Command): void {
  t.command("ps")
    .description("list processes for container")
    .argument("[id]", "CONTAINER")
    .action(async (id: string | undefined, _o, cmd: Command) => {
      if (id === undefined || id === "") throw new CommandError("container id must be provided");
      await withClient(cmd, async (client, ctx) => {
        const container = await client.loadContainer(ctx, id);
        const task = await container.task(ctx);
        const processes = await task.pids(ctx);
        const w = new TabWriter({ minwidth: 1, tabwidth: 8, padding: 4, padchar: " " });
        w.line("PID", "INFO");
        for (const p of processes) {
          let info = "-";
          if (p.details !== undefined) info = `&ProcessDetails{ExecID:${p.details.execId},XXX_unrecognized:[],}`;
          else if (p.infoType !== undefined) throw new InvalidArgumentError(`type with url ${p.infoType}: not found`, { bare: true });
          w.line(String(p.pid), info);
        }
        w.flush();
      });
    });
}
