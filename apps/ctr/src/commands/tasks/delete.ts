import type { Command } from "commander";
import { type Client, loadIO } from "@containerts/client";
import type { Context } from "@containerts/namespaces";
import { withClient } from "../../cli.js";
import { exitWith, logError, logWarning } from "./shared.js";

/** ctr's `loadTask`: the container's task with its FIFOs loaded, so deleting it removes them. */
async function loadTask(client: Client, ctx: Context, id: string) {
  const container = await client.loadContainer(ctx, id);
  return container.task(ctx, loadIO);
}

/**
 * `tasks delete|del|remove|rm [-f] [--exec-id ID] CONTAINER…`: deletes stopped tasks (`-f` kills them
 * first) and removes their FIFOs; with `--exec-id`, one exec process of the first container (the command
 * exits with its exit code). A task that exited non-zero is logged as a warning; a failure is logged and
 * the first one ends the command, as in ctr.
 */
export function register(t: Command): void {
  t.command("delete")
    .aliases(["del", "remove", "rm"])
    .description("delete one or more tasks")
    .argument("[ids...]", "CONTAINER [CONTAINER, ...]")
    .option("-f, --force", "force delete task process")
    .option("--exec-id <id>", "process ID to kill")
    .action(async (ids: string[], opts: { force?: boolean; execId?: string }, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const force = opts.force ?? false;
        if (opts.execId !== undefined && opts.execId !== "") {
          const task = await loadTask(client, ctx, ids[0] ?? "");
          const p = await task.loadProcess(ctx, opts.execId, loadIO);
          const status = await p.delete(ctx, { force });
          exitWith(status.exitStatus);
          return;
        }
        let exitErr: unknown;
        for (const id of ids) {
          let task;
          try {
            task = await loadTask(client, ctx, id);
          } catch (err) {
            exitErr ??= err;
            logError(`failed to load task from ${id}`, err);
            continue;
          }
          try {
            const status = await task.delete(ctx, { force });
            if (status.exitStatus !== 0) logWarning(`task ${task.id} exit with non-zero exit code ${status.exitStatus}`);
          } catch (err) {
            exitErr ??= err;
            logError(`unable to delete ${task.id}`, err);
          }
        }
        if (exitErr !== undefined) throw exitErr;
      });
    });
}
