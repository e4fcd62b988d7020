/**
 * Every tsctr command group, registered in order. Each module exports `register(program)`.
 * Add a line here when adding a command group.
 */
import type { Command } from "commander";
import { register as version } from "./version.js";
import { register as plugins } from "./plugins/index.js";
import { register as namespaces } from "./namespaces/index.js";

/** Registers all commands on the root program. */
export function registerCommands(program: Command): void {
  version(program);
  plugins(program);
  namespaces(program);
}
