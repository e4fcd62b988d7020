import type { Command } from "commander";
import { CommandError, withClient } from "../../cli.js";
import { runTask } from "../tasks/shared.js";
import { type ContainerFlags, addContainerFlags, addRunPlatformFlags, newContainerFromFlags } from "./container-flags.js";

interface RunFlags extends ContainerFlags {
  readonly rm?: boolean;
  readonly nullIo?: boolean;
  readonly logUri?: string;
  readonly detach?: boolean;
  readonly fifoDir?: string;
}

/**
 * `run [flags] IMAGE ID [COMMAND] [ARG...]` (ctr's `run`): creates the container from the image (unpacked
 * first when needed) with ctr's container flags, creates and starts its task with the caller's stdio
 * (`-t`: the terminal in raw mode, window size forwarded; otherwise signals forwarded as Kill), waits,
 * deletes the task (`--rm`: the container and its snapshot too) and exits with the task's exit code.
 * `-d` returns once the task started. Flags after IMAGE belong to the command, as in ctr. The default
 * runtime is containerd's `io.containerd.runc.v2`; `--runtime io.containerts.tsrunc.v1` uses our shim.
 */
export function register(program: Command): void {
  // Flags after IMAGE are the container's command's (ctr's SkipArgReorder): options are positional.
  program.enablePositionalOptions();
  const cmd = program
    .command("run")
    .description("run a container")
    .usage("[flags] Image|RootFS ID [COMMAND] [ARG...]")
    .argument("[image]")
    .argument("[id]")
    .argument("[command...]")
    .passThroughOptions()
    .option("--rm", "remove the container after running, cannot be used with --detach")
    .option("--null-io", "send all IO to /dev/null")
    .option("--log-uri <uri>", "log uri")
    .option("-d, --detach", "detach from the task after it has started execution, cannot be used with --rm")
    .option("--fifo-dir <dir>", "directory used for storing IO FIFOs");
  addRunPlatformFlags(cmd);
  addContainerFlags(cmd);
  cmd.action(async (ref: string | undefined, id: string | undefined, args: string[], opts: RunFlags, c: Command) => {
    if (ref === undefined || ref === "") throw new CommandError("image ref must be provided");
    if (id === undefined || id === "") throw new CommandError("container id must be provided");
    if (opts.rm && opts.detach) throw new CommandError("flags --detach and --rm cannot be specified together");
    await withClient(c, async (client, ctx) => {
      const container = await newContainerFromFlags(client, ctx, ref, id, args, opts);
      await runTask(ctx, container, {
        tty: opts.tty ?? false,
        detach: opts.detach ?? false,
        ...(opts.nullIo === undefined ? {} : { nullIo: opts.nullIo }),
        ...(opts.logUri === undefined ? {} : { logUri: opts.logUri }),
        ...(opts.fifoDir === undefined ? {} : { fifoDir: opts.fifoDir }),
        ...(opts.pidFile === undefined ? {} : { pidFile: opts.pidFile }),
        ...(opts.rm ? { afterDelete: () => container.delete(ctx, { snapshotCleanup: true }) } : {}),
      });
    });
  });
}
