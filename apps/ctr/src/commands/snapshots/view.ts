import type { Command } from "commander";
import { println, withClient } from "../../cli.js";
import { goIndentJson, mountsJson, printMounts, snapshotterOf } from "./shared.js";

/** `snapshots view [--target T] [--mounts] KEY [PARENT]`: a read-only view (no labels, as ctr). */
export function register(s: Command): void {
  s.command("view")
    .description("create a read-only snapshot from a committed snapshot")
    .argument("[args...]", "<key> [<parent>]")
    .option("-t, --target <path>", "mount target path, will print mount, if provided")
    .option("--mounts", "Print out snapshot mounts as JSON")
    .action(async (args: string[], opts: { target?: string; mounts?: boolean }, cmd: Command) => {
      if (args.length < 1 || args.length > 2) {
        cmd.outputHelp();
        return;
      }
      const [key = "", parent = ""] = args;
      await withClient(cmd, async (client, ctx) => {
        const mounts = await snapshotterOf(cmd, client).view(ctx, key, parent);
        if (opts.target) printMounts(opts.target, mounts);
        if (opts.mounts) println(goIndentJson(mountsJson(mounts)));
      });
    });
}
