import type { Command } from "commander";
import type { PluginInfo, PluginPlatform } from "@containerts/introspection";
import { println, withClient } from "../../cli.js";
import { TabWriter, wide } from "../../tabwriter.js";

/** gRPC code names as Go prints them (codes.Code.String()). */
const codeNames = ["OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"];

function formatPlatform(p: PluginPlatform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== "").join("/");
}

/** Distinct formatted platforms, sorted, comma-joined ("-" when none), like ctr's prettyPlatforms. */
export function prettyPlatforms(ps: readonly PluginPlatform[]): string {
  const set = [...new Set(ps.map(formatPlatform))].sort();
  return set.length === 0 ? "-" : set.join(",");
}

function status(p: PluginInfo): string {
  if (!p.initError) return "ok";
  return p.initError.message.includes("skip plugin") ? "skip" : "error";
}

/** `tsctr plugins ls`: the daemon's plugins (`-q` ids only, `-d` details), filtered by positional filters. */
export function register(program: Command): void {
  const plugins = program.command("plugins").alias("plugin").description("provides information about containerd plugins");
  plugins
    .command("list")
    .alias("ls")
    .description("lists containerd plugins")
    .argument("[filters...]", "filters")
    .option("-q, --quiet", "print only the plugin ids")
    .option("-d, --detailed", "print detailed information about each plugin")
    .action(async (filters: string[], opts: { quiet?: boolean; detailed?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const list = await client.introspection.plugins(ctx, filters);
        if (opts.quiet) {
          for (const p of list) println(p.id);
          return;
        }
        const w = new TabWriter(wide);
        if (opts.detailed) {
          let first = true;
          for (const p of list) {
            if (!first) w.text("\t\t\t\n");
            first = false;
            w.text(`Type:\t ${p.type}\n`);
            w.text(`ID:\t ${p.id}\n`);
            if (p.requires.length > 0) {
              w.text("Requires:\t\n");
              for (const r of p.requires) w.text(`\t ${r}\n`);
            }
            if (p.platforms.length > 0) w.text(`Platforms:\t ${prettyPlatforms(p.platforms)}\n`);
            const exports = Object.entries(p.exports);
            if (exports.length > 0) {
              w.text("Exports:\t\n");
              for (const [k, v] of exports) w.text(`\t ${k} \t ${v}\n`);
            }
            if (p.capabilities.length > 0) w.text(`Capabilities:\t ${p.capabilities.join(",")}\n`);
            if (p.initError) {
              w.text("Error:\t\n");
              w.text(`\t Code:\t ${codeNames[p.initError.code] ?? `Code(${p.initError.code})`}\n`);
              w.text(`\t Message:\t ${p.initError.message}\n`);
            }
          }
          w.flush();
          return;
        }
        w.line("TYPE", "ID", "PLATFORMS", "STATUS", "");
        for (const p of list) w.line(p.type, p.id, prettyPlatforms(p.platforms), status(p), "");
        w.flush();
      });
    });
}
