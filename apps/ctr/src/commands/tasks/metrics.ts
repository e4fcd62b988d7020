import type { Command } from "commander";
import { type GoJsonValue, goTimeString, metricsJson } from "@containerts/client";
import { CommandError, println, withClient } from "../../cli.js";
import { TabWriter } from "../../tabwriter.js";

type Stats = { readonly [key: string]: GoJsonValue | undefined };

function section(stats: Stats, key: string): Stats | undefined {
  const v = stats[key];
  return v !== undefined && v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Stats) : undefined;
}

/** A number as Go's `%d` / `%v` prints it (0 when absent). */
function num(s: Stats | undefined, key: string): string {
  const v = s?.[key];
  return typeof v === "bigint" || typeof v === "number" ? String(v) : "0";
}

/** A list of numbers as Go's `%v` prints a slice: `[1 2 3]`. */
function list(s: Stats | undefined, key: string): string {
  const v = s?.[key];
  return `[${Array.isArray(v) ? v.map(String).join(" ") : ""}]`;
}

/**
 * `tasks metrics|metric [--format table|json] CONTAINER`: one sample of the task's cgroup statistics,
 * decoded from `io.containerd.cgroups.v1.Metrics` or `.v2.Metrics`, printed as ctr prints them.
 */
export function register(t: Command): void {
  t.command("metrics")
    .alias("metric")
    .description("get a single data point of metrics for a task with the built-in Linux runtime")
    .argument("[id]", "CONTAINER")
    .option("--format <format>", '"table" or "json"', "table")
    .action(async (id: string | undefined, opts: { format: string }, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const container = await client.loadContainer(ctx, id ?? "");
        const task = await container.task(ctx);
        const m = await task.metrics(ctx);
        if (opts.format === "json") {
          println(metricsJson(m.data));
          return;
        }
        if (opts.format !== "table") throw new CommandError("format must be table or json");
        const w = new TabWriter({ minwidth: 1, tabwidth: 8, padding: 4, padchar: " " });
        w.text(`ID\tTIMESTAMP\t\n${m.id}\t${goTimeString(m.timestamp)}\t\n\n`);
        w.line("METRIC", "VALUE", "");
        const s = m.data.stats;
        if (m.data.version === 1) {
          const memory = section(s, "memory");
          if (memory !== undefined) {
            const usage = section(memory, "usage");
            w.line("memory.usage_in_bytes", num(usage, "usage"), "");
            w.line("memory.limit_in_bytes", num(usage, "limit"), "");
            w.line("memory.stat.cache", num(memory, "total_cache"), "");
          }
          const cpu = section(s, "cpu");
          if (cpu !== undefined) {
            const usage = section(cpu, "usage");
            w.line("cpuacct.usage", num(usage, "total"), "");
            w.line("cpuacct.usage_percpu", list(usage, "per_cpu"), "");
          }
          const pids = section(s, "pids");
          if (pids !== undefined) {
            w.line("pids.current", num(pids, "current"), "");
            w.line("pids.limit", num(pids, "limit"), "");
          }
        } else {
          const pids = section(s, "pids");
          if (pids !== undefined) {
            w.line("pids.current", num(pids, "current"), "");
            w.line("pids.limit", num(pids, "limit"), "");
          }
          const cpu = section(s, "cpu");
          if (cpu !== undefined) {
            for (const k of ["usage_usec", "user_usec", "system_usec", "nr_periods", "nr_throttled", "throttled_usec"]) w.line(`cpu.${k}`, num(cpu, k), "");
          }
          const memory = section(s, "memory");
          if (memory !== undefined) {
            w.line("memory.usage", num(memory, "usage"), "");
            w.line("memory.usage_limit", num(memory, "usage_limit"), "");
            w.line("memory.swap_usage", num(memory, "swap_usage"), "");
            w.line("memory.swap_limit", num(memory, "swap_limit"), "");
          }
        }
        w.flush();
      });
    });
}
