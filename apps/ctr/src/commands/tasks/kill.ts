import type { Command } from "commander";
import { parseSignal, stopSignal } from "@containerts/client";
import { CommandError, withClient } from "../../cli.js";

/**
 * `tasks kill [-s SIGNAL] [-a] [--exec-id ID] CONTAINER`: signals a task or one of its exec processes.
 * Without `-s`: the container's `io.containerd.image.config.stop-signal` label, else SIGTERM.
 */
export function register(t: Command): void {
  t.command("kill")
    .description("signal a container (default: SIGTERM)")
    .argument("[id]", "CONTAINER")
    .option("-s, --signal <signal>", "signal to send to the container", "")
    .option("--exec-id <id>", "process ID to kill")
    .option("-a, --all", "send signal to all processes inside the container")
    .action(async (id: string | undefined, opts: { signal: string; execId?: string; all?: boolean }, cmd: Command) => {
      if (id === undefined || id === "") throw new CommandError("container id must be provided");
      const execId = opts.execId ?? "";
      if (opts.all && execId !== "") throw new CommandError("specify an exec-id or all; not both");
      await withClient(cmd, async (client, ctx) => {
        const container = await client.loadContainer(ctx, id);
        const sig = opts.signal !== "" ? parseSignal(opts.signal) : stopSignal(container.record.labels, "SIGTERM");
        const task = await container.task(ctx);
        await task.kill(ctx, sig, { all: opts.all ?? false, execId });
      });
    });
}
