import type { Command } from "commander";
import { register as attach } from "./attach.js";
import { register as del } from "./delete.js";
import { register as exec } from "./exec.js";
import { register as list } from "./list.js";
import { register as kill } from "./kill.js";
import { register as pause } from "./pause.js";
import { register as ps } from "./ps.js";
import { register as resume } from "./resume.js";
import { register as start } from "./start.js";
import { register as metrics } from "./metrics.js";

/**
 * `tsctr tasks attach|delete|exec|list|kill|pause|ps|resume|start|metrics` (aliases `t`, `task`), as ctr's
 * `tasks` commands.
 */
export function register(program: Command): void {
  const t = program.command("tasks").aliases(["t", "task"]).description("manage tasks");
  // `tasks exec` passes the flags after CONTAINER to the command (ctr's SkipArgReorder).
  t.enablePositionalOptions();
  attach(t);
  del(t);
  exec(t);
  list(t);
  kill(t);
  pause(t);
  ps(t);
  resume(t);
  start(t);
  metrics(t);
}
