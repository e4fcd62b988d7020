import type { Command } from "commander";
import { println, withClient } from "../../cli.js";
import { gcRootNow, goIndentJson, mountsJson, printMounts, snapshotterOf } from "./shared.js";

/**
 * `snapshots prepare [--target T] [--mounts] KEY [PARENT]`: an active snapshot labelled
 * `containerd.io/gc.root=<now>`; prints the mount commands for T and/or the mounts as JSON.
 */
export function register(s: Command): void {
  s.command("prepare")
    .description("prepare a snapshot from a committed snapshot")
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
        const mounts = await snapshotterOf(cmd, client).prepare(ctx, key, parent, { labels: gcRootNow() });
        if (opts.target) printMounts(opts.target, mounts);
        if (opts.mounts) println(goIndentJson(mountsJson(mounts)));
      });
    });
}
