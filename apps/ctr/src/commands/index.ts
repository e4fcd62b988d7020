/**
 * Every tsctr command group, registered in order. Each module exports `register(program)`.
 * Add a line here when adding a command group.
 */
import type { Command } from "commander";
import { register as version } from "./version.js";
import { register as plugins } from "./plugins/index.js";
import { register as namespaces } from "./namespaces/index.js";
import { register as containers } from "./containers/index.js";
import { register as snapshots } from "./snapshots/index.js";
import { register as content } from "./content/index.js";
import { register as leases } from "./leases/index.js";
import { register as gc } from "./gc.js";
import { register as images } from "./images/index.js";
import { register as tasks } from "./tasks/index.js";
import { register as run } from "./run/index.js";
import { register as events } from "./events/index.js";

/** Registers all commands on the root program. */
export function registerCommands(program: Command): void {
  version(program);
  plugins(program);
  namespaces(program);
  containers(program);
  snapshots(program);
  content(program);
  leases(program);
  gc(program);
  images(program);
  tasks(program);
  run(program);
  events(program);
}
