import type { Command } from "commander";

import { register as active } from "./active.js";
import { register as del } from "./remove.js";
import { register as edit } from "./edit.js";
import { register as fetch } from "./fetch.js";
import { register as get } from "./get.js";
import { register as ingest } from "./ingest.js";
import { register as list } from "./list.js";
import { register as label } from "./label.js";
import { register as prune } from "./prune.js";

/** `tsctr content active|delete|edit|fetch|get|ingest|list|label|prune`, as ctr's `content` commands. */
export function register(program: Command): void {
  const c = program.command("content").description("manage content");
  active(c);
  del(c);
  edit(c);
  fetch(c);
  get(c);
  ingest(c);
  list(c);
  label(c);
  prune(c);
}
