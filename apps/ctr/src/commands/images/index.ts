import type { Command } from "commander";
import { register as fetch } from "../content/fetch.js";
import { register as check } from "./check.js";
import { register as exportCmd } from "./export.js";
import { register as importCmd } from "./import.js";
import { register as label } from "./label.js";
import { register as list } from "./list.js";
import { register as mount } from "./mount.js";
import { register as pull } from "./pull.js";
import { register as push } from "./push.js";
import { register as remove } from "./remove.js";
import { register as tag } from "./tag.js";
import { register as unmount } from "./unmount.js";
import { register as usage } from "./usage.js";

/**
 * `tsctr images check|export|import|list|mount|unmount|pull|push|delete|tag|label|usage` (aliases
 * `image`, `i`), as ctr's `images` commands; also adds `fetch` to the `content` group (creating the
 * group when it is not registered yet).
 */
export function register(program: Command): void {
  const i = program.command("images").aliases(["image", "i"]).description("manage images");
  check(i);
  exportCmd(i);
  importCmd(i);
  list(i);
  mount(i);
  unmount(i);
  pull(i);
  push(i);
  remove(i);
  tag(i);
  label(i);
  usage(i);
  const content = program.commands.find((c) => c.name() === "content") ?? program.command("content").description("manage content");
  if (!content.commands.some((c) => c.name() === "fetch")) fetch(content);
}
