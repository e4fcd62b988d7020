import type { Command } from "commander";
import { attachIO } from "@containerts/client";
import { withClient } from "../../cli.js";
import { Console, exitWith, forwardAllSignals, handleConsoleResize } from "./shared.js";

/**
 * `tasks attach CONTAINER`: reconnects this terminal (or stdio) to a running task's FIFOs, forwards
 * window sizes or signals, waits for the exit, deletes the task and exits with its exit code.
 */
export function register(t: Command): void {
  t.command("attach")
    .description("attach to the IO of a running container")
    .argument("[id]", "CONTAINER")
    .action(async (id: string | undefined, _o, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const container = await client.loadContainer(ctx, id ?? "");
        const spec = await container.spec(ctx);
        const tty = spec.process?.terminal ?? false;
        let con: Console | undefined;
        if (tty) {
          con = Console.current();
          con.setRaw();
        }
        try {
          const task = await container.task(
            ctx,
            attachIO(tty ? { stdin: process.stdin, stdout: process.stdout } : { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }),
          );
          let deleted = false;
          try {
            const exited = task.wait(ctx);
            exited.catch(() => {});
            const stop = con !== undefined ? await handleConsoleResize(ctx, task, con) : forwardAllSignals(ctx, task);
            const status = await exited;
            stop();
            await task.delete(ctx);
            deleted = true;
            exitWith(status.exitStatus);
          } finally {
            if (!deleted) await task.delete(ctx).catch(() => {});
          }
        } finally {
          con?.reset();
        }
      });
    });
}
