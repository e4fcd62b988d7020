import type { Command } from "commander";
import { println, withClient } from "../../cli.js";
import { TabWriter, wide } from "../../tabwriter.js";

/** `tasks list|ls [-q]`: every task of the namespace as ctr prints it (TASK, PID, STATUS). */
export function register(t: Command): void {
  t.command("list")
    .alias("ls")
    .description("list tasks")
    .option("-q, --quiet", "print only the task id")
    .action(async (opts: { quiet?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const tasks = await client.tasks.list(ctx);
        if (opts.quiet) {
          for (const task of tasks) println(task.id);
          return;
        }
        const w = new TabWriter(wide);
        w.line("TASK", "PID", "STATUS", "");
        for (const task of tasks) w.line(task.id, String(task.pid), task.status.toUpperCase());
        w.flush();
      });
    });
}
