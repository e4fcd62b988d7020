import type { Command } from "commander";
import { register as list } from "./list.js";
import { register as del } from "./delete.js";
import { register as info } from "./info.js";
import { register as label } from "./label.js";
import { register as create } from "./create.js";

/** `tsctr containers create|ls|info|label|rm` (aliases `c`, `container`), as ctr's `containers` commands. */
export function register(program: Command): void {
  const c = program.command("containers").aliases(["c", "container"]).description("manage containers");
  create(c);
  del(c);
  info(c);
  list(c);
  label(c);
}
