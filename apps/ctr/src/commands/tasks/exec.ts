import type { Command } from "commander";
import { withUser } from "@containerts/client";
import { CommandError, withClient } from "../../cli.js";
import { Console, exitWith, forwardAllSignals, handleConsoleResize, ioFor } from "./shared.js";

interface ExecFlags {
  readonly cwd?: string;
  readonly tty?: boolean;
  readonly detach?: boolean;
  readonly execId?: string;
  readonly fifoDir?: string;
  readonly logUri?: string;
  readonly user?: string;
}

/**
 * `tasks exec --exec-id ID [-t] [-d] [--cwd DIR] [--user U] CONTAINER CMD [ARG...]`: runs an additional
 * process in a task, with the container's process spec (args, terminal, cwd and user replaced), and exits
 * with its exit code. Flags after CONTAINER belong to the command.
 */
export function register(t: Command): void {
  t.command("exec")
    .description("execute additional processes in an existing container")
    .usage("[flags] CONTAINER CMD [ARG...]")
    .argument("[id]", "CONTAINER")
    .argument("[command...]")
    .passThroughOptions()
    .option("--cwd <dir>", "working directory of the new process")
    .option("-t, --tty", "allocate a TTY for the container")
    .option("-d, --detach", "detach from the task after it has started execution")
    .option("--exec-id <id>", "exec specific id for the process")
    .option("--fifo-dir <dir>", "directory used for storing IO FIFOs")
    .option("--log-uri <uri>", "log uri for custom shim logging")
    .option("--user <user>", "user id or name")
    .action(async (id: string | undefined, args: string[], opts: ExecFlags, cmd: Command) => {
      if (opts.execId === undefined) throw new CommandError('Required flag "exec-id" not set');
      if (id === undefined || id === "") throw new CommandError("container id must be provided");
      const tty = opts.tty ?? false;
      if (tty && opts.logUri) throw new CommandError("can't use log-uri with tty");
      if (opts.logUri && opts.fifoDir) throw new CommandError("can't use log-uri with fifo-dir");
      await withClient(cmd, async (client, ctx) => {
        const container = await client.loadContainer(ctx, id);
        const spec = await container.spec(ctx);
        if (opts.user !== undefined && opts.user !== "") await container.applySpecOpts(ctx, spec, [withUser(opts.user)]);
        const pspec = spec.process ?? { user: { uid: 0, gid: 0 }, cwd: "/" };
        pspec.terminal = tty;
        pspec.args = args;
        if (opts.cwd !== undefined && opts.cwd !== "") pspec.cwd = opts.cwd;
        const task = await container.task(ctx);
        let con: Console | undefined;
        if (tty) {
          con = Console.current();
          con.setRaw();
        }
        try {
          const p = await task.exec(ctx, opts.execId!, pspec, {
            io: ioFor(tty, { ...(opts.fifoDir === undefined ? {} : { fifoDir: opts.fifoDir }), ...(opts.logUri === undefined ? {} : { logUri: opts.logUri }) }),
          });
          let deleted = opts.detach ?? false;
          const stops: (() => void)[] = [];
          try {
            const exited = p.wait(ctx);
            exited.catch(() => {});
            let started!: () => void;
            const startedP = new Promise<void>((r) => (started = r));
            if (con === undefined && !opts.detach) stops.push(forwardAllSignals(ctx, p, startedP));
            await p.start(ctx);
            started();
            if (opts.detach) return;
            if (con !== undefined) stops.push(await handleConsoleResize(ctx, p, con));
            const status = await exited;
            for (const stop of stops.splice(0)) stop();
            await p.delete(ctx);
            deleted = true;
            exitWith(status.exitStatus);
          } finally {
            for (const stop of stops) stop();
            if (!deleted) await p.delete(ctx).catch(() => {});
          }
        } finally {
          con?.reset();
        }
      });
    });
}
