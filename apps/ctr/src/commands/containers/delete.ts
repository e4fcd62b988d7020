import type { Command } from "commander";
import { InvalidArgumentError, NotImplementedError, normalize } from "@containerts/errdefs";
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
 * `containers delete|del|remove|rm [--keep-snapshot] CONTAINER…`: for each container, Get, then (unless
 * `--keep-snapshot`) remove its snapshot, then Delete. Errors are logged per container and the first one
 * ends the command, as in ctr.
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
            const ct = await client.containers.get(ctx, id);
            // TODO(containers): ctr first looks for the container's task (Tasks.Get) and deletes it when it is
            // stopped or created, refusing otherwise; do the same once the client has a tasks proxy.
            if (!opts.keepSnapshot && ct.snapshotKey !== "") {
              if (ct.snapshotter === "") {
                throw new InvalidArgumentError("container.Snapshotter must be set to cleanup rootfs snapshot");
              }
              // TODO(containers): remove the snapshot (NotFound tolerated) once the client has a snapshots proxy.
              throw new NotImplementedError(
                `removing snapshot ${JSON.stringify(ct.snapshotKey)} of container ${JSON.stringify(id)}: tsctr has no snapshots client yet (use --keep-snapshot)`,
              );
            }
            await client.containers.delete(ctx, id);
          } catch (err) {
            exitErr ??= err;
            logDeleteError(id, err);
          }
        }
        if (exitErr !== undefined) throw exitErr;
      });
    });
}
