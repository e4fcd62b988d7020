import type { Command } from "commander";
import { CommandError, withClient } from "../../cli.js";
import { runTask } from "./shared.js";

/**
 * `tasks start [-d] [--null-io] [--log-uri URI] [--fifo-dir DIR] [--pid-file FILE] CONTAINER`: creates and
 * starts the task of an existing container (with a terminal when its spec asks for one), then as `run`.
 */
export function register(t: Command): void {
  t.command("start")
    .description("start a container that has been created")
    .argument("[id]", "CONTAINER")
    .option("--null-io", "send all IO to /dev/null")
    .option("--log-uri <uri>", "log uri")
    .option("--fifo-dir <dir>", "directory used for storing IO FIFOs")
    .option("--pid-file <file>", "file path to write the task's pid")
    .option("-d, --detach", "detach from the task after it has started execution")
    .action(
      async (
        id: string | undefined,
        opts: { nullIo?: boolean; logUri?: string; fifoDir?: string; pidFile?: string; detach?: boolean },
        cmd: Command,
      ) => {
        if (id === undefined || id === "") throw new CommandError("container id must be provided");
        await withClient(cmd, async (client, ctx) => {
          const container = await client.loadContainer(ctx, id);
          const spec = await container.spec(ctx);
          await runTask(ctx, container, {
            tty: spec.process?.terminal ?? false,
            detach: opts.detach ?? false,
            ...(opts.nullIo === undefined ? {} : { nullIo: opts.nullIo }),
            ...(opts.logUri === undefined ? {} : { logUri: opts.logUri }),
            ...(opts.fifoDir === undefined ? {} : { fifoDir: opts.fifoDir }),
            ...(opts.pidFile === undefined ? {} : { pidFile: opts.pidFile }),
          });
        });
      },
    );
}
