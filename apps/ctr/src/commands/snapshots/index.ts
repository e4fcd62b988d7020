import type { Command } from "commander";
import { register as commit } from "./commit.js";
import { register as diff } from "./diff.js";
import { register as info } from "./info.js";
import { register as label } from "./label.js";
import { register as list } from "./list.js";
import { register as mounts } from "./mounts.js";
import { register as prepare } from "./prepare.js";
import { register as remove } from "./remove.js";
import { register as tree } from "./tree.js";
import { register as usage } from "./usage.js";
import { register as view } from "./view.js";

/**
 * `tsctr snapshots prepare|view|commit|diff|ls|rm|usage|mounts|tree|info|label` (alias `snapshot`), with
 * `--snapshotter` (default `CONTAINERD_SNAPSHOTTER`, else overlayfs), as ctr's `snapshots` commands.
 */
export function register(program: Command): void {
  const s = program
    .command("snapshots")
    .alias("snapshot")
    .description("manage snapshots")
    .option("--snapshotter <name>", "snapshotter name. Empty value stands for the default value.", process.env["CONTAINERD_SNAPSHOTTER"] ?? "");
  commit(s);
  diff(s);
  info(s);
  list(s);
  mounts(s);
  prepare(s);
  remove(s);
  label(s);
  tree(s);
  usage(s);
  view(s);
}
