import type { Command } from "commander";
import { type Client, goTimeString, loadIO } from "@containerts/client";
import { FailedPreconditionError, normalize } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { CommandError, withClient } from "../../cli.js";

/** Go's `time.Now().Format(time.RFC3339)` in the local zone, as logrus stamps ctr's log lines. */
function rfc3339Now(): string {
  const d = new Date();
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60_000).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const abs = Math.abs(off);
  return `${local}${off > 0 ? "+" : "-"}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** ctr's logrus error line for a container it failed to delete. */
function logDeleteError(id: string, err: unknown): void {
  const msg = JSON.stringify(`failed to delete container ${JSON.stringify(id)}`);
  process.stderr.write(`time="${rfc3339Now()}" level=error msg=${msg} error=${JSON.stringify(normalize(err).message)}\n`);
}

/**
 * ctr's `deleteContainer`: a container whose task is stopped or only created loses the task first (its
 * FIFOs removed); a running or paused one is refused; then the container is deleted, with its snapshot
 * unless `--keep-snapshot` (a missing snapshot is fine).
 */
async function deleteContainer(client: Client, ctx: Context, id: string, keepSnapshot: boolean): Promise<void> {
  const container = await client.loadContainer(ctx, id);
  const options = { snapshotCleanup: !keepSnapshot };
  let task;
  try {
    task = await container.task(ctx, loadIO);
  } catch {
    await container.delete(ctx, options);
    return;
  }
  const st = await task.status(ctx);
  if (st.status === "stopped" || st.status === "created") {
    await task.delete(ctx);
    await container.delete(ctx, options);
    return;
  }
  // Go's %v of containerd.Status{Status, ExitStatus, ExitTime}.
  throw new FailedPreconditionError(`cannot delete a non stopped container: {${st.status} ${st.exitStatus} ${goTimeString(st.exitedAt)}}`, { bare: true });
}

/**
 * `containers delete|del|remove|rm [--keep-snapshot] CONTAINER…`: {@link deleteContainer} for each
 * container. Errors are logged per container and the first one ends the command, as in ctr.
 */
export function register(c: Command): void {
  c.command("delete")
    .aliases(["del", "remove", "rm"])
    .description("delete one or more existing containers")
    .argument("[ids...]", "CONTAINER [CONTAINER, ...]")
    .option("--keep-snapshot", "do not clean up snapshot with container")
    .action(async (ids: string[], opts: { keepSnapshot?: boolean }, cmd: Command) => {
      if (ids.length === 0) throw new CommandError("must specify at least one container to delete: invalid argument");
      await withClient(cmd, async (client, ctx) => {
        let exitErr: unknown;
        for (const id of ids) {
          try {
            await deleteContainer(client, ctx, id, opts.keepSnapshot ?? false);
          } catch (err) {
            exitErr ??= err;
            logDeleteError(id, err);
          }
        }
        if (exitErr !== undefined) throw exitErr;
      });
    });
}
