/**
 * Issue 2's benchmarks: cold start to the first answered Version, idle RSS, Version RPC latency through an
 * in-process client, and the stock `ctr version` round trip.
 */
import { readFile } from "node:fs/promises";
import { Client } from "@containerts/client";
import { run } from "@containerts/testkit";
import { median, msSince, quantile, type Benchmark } from "../types.js";

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

export const coldStart: Benchmark = {
  id: "cold-start",
  title: "cold start to first answered Version (fresh root)",
  issue: 2,
  better: "lower",
  target: "daemons",
  async run(ctx) {
    const times: number[] = [];
    for (let i = 0; i < Math.max(5, ctx.runs); i++) {
      const start = process.hrtime.bigint();
      const d = await ctx.startDaemon();
      try {
        // startDaemon returns once the socket accepts; now wait for a real answer.
        const c = await Client.connect(d.address, { connectTimeoutMs: 20_000 });
        await c.version();
        times.push(msSince(start));
        c.close();
      } finally {
        await d.cleanup();
      }
    }
    return { value: median(times), unit: "ms", note: `median of ${times.length}, max ${Math.max(...times).toFixed(0)} ms` };
  },
};

export const idleRss: Benchmark = {
  id: "idle-rss",
  title: "idle RSS after start-up",
  issue: 2,
  better: "lower",
  target: "daemons",
  async run(ctx) {
    const d = ctx.daemon!;
    const c = await Client.connect(d.address);
    await c.version();
    c.close();
    await new Promise((r) => setTimeout(r, 3000));
    const kib = await rssKiB(d.pid);
    return { value: kib / 1024, unit: "MiB", note: "VmRSS of the daemon process, 3 s after its first answer" };
  },
};

export const versionLatency: Benchmark = {
  id: "version-rpc",
  title: "Version RPC latency (in-process client, sequential)",
  issue: 2,
  better: "lower",
  target: "daemons",
  async run(ctx) {
    const d = ctx.daemon!;
    const c = await Client.connect(d.address);
    try {
      for (let i = 0; i < 200; i++) await c.version();
      const samples: number[] = [];
      for (let i = 0; i < 2000; i++) {
        const t = process.hrtime.bigint();
        await c.version();
        samples.push(msSince(t) * 1000);
      }
      return { value: median(samples), unit: "µs", note: `p99 ${quantile(samples, 0.99).toFixed(0)} µs over ${samples.length} calls` };
    } finally {
      c.close();
    }
  },
};

export const ctrVersion: Benchmark = {
  id: "ctr-version",
  title: "`ctr version` round trip (stock ctr)",
  issue: 2,
  better: "lower",
  target: "daemons",
  async run(ctx) {
    const d = ctx.daemon!;
    const times: number[] = [];
    for (let i = 0; i < Math.max(20, ctx.runs); i++) {
      const t = process.hrtime.bigint();
      const r = await run("ctr", ["--address", d.address, "version"]);
      if (r.code !== 0) throw new Error(`ctr version failed: ${r.stderr}`);
      times.push(msSince(t));
    }
    return { value: median(times), unit: "ms", note: `median of ${times.length}` };
  },
};

export const daemonBenchmarks: readonly Benchmark[] = [coldStart, idleRss, versionLatency, ctrVersion];
