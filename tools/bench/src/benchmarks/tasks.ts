/**
 * Issue 6's task benchmarks, run with the stock `ctr` against any daemon address (containertsd or
 * containerd 1.6) and a given runtime (`io.containerd.runc.v2`, `io.containerts.tsrunc.v1`):
 * - `ctr run --rm` latency, sequential (median over N runs);
 * - 20 `ctr run --rm` in parallel (median wall time of several batches, with the per-run median);
 * - shim memory per running container (sum of the shims' RSS / number of running containers).
 *
 * Each function works in its own namespace (`bench<pid>…`) and removes what it created. The busybox image
 * is built offline by tools/testimages and imported with `ctr images import`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, run, shimPidsOf } from "@containerts/testkit";
import { median, msSince, quantile, type Benchmark, type Measurement } from "../types.js";

/** The image the benchmarks run. */
export const BENCH_IMAGE = "docker.io/library/busybox:latest";

/** Options shared by the task benchmarks. */
export interface TaskBenchOptions {
  /** The daemon's socket. */
  readonly address: string;
  /** The runtime of the containers. */
  readonly runtime: string;
  /** A scratch directory (the image archive is written there). */
  readonly scratch: string;
  /** The namespace to work in; default a fresh `bench<pid><n>`. It is emptied afterwards. */
  readonly namespace?: string;
  /**
   * Extra environment for `ctr` (not for the daemon: a daemon must already find the shim binary of
   * `runtime`, e.g. `packages/shim-runc/bin` on its `PATH` for `io.containerts.tsrunc.v1`).
   */
  readonly env?: Record<string, string>;
}

let seq = 0;
function freshNamespace(): string {
  return `bench${process.pid}n${++seq}`;
}

function ctr(o: TaskBenchOptions, ns: string, args: readonly string[]) {
  return run("ctr", ["--address", o.address, "--namespace", ns, ...args], { timeoutMs: 120_000, ...(o.env ? { env: o.env } : {}) });
}

/**
 * Builds the busybox archive (tools/testimages) into `scratch` and imports it into `ns`.
 * @throws when building or importing fails (the tool's output in the message).
 */
export async function importBenchImage(o: TaskBenchOptions, ns: string): Promise<void> {
  const archive = join(o.scratch, "busybox.tar");
  if (!existsSync(archive)) {
    const bin = join(repoRoot, "tools/testimages/bin/containerts-testimages");
    const b = spawnSync(bin, ["busybox", "-o", archive], { encoding: "utf8" });
    if (b.status !== 0) throw new Error(`building ${archive} failed: ${b.stderr || b.stdout}`);
  }
  const r = await ctr(o, ns, ["images", "import", archive]);
  if (r.code !== 0) throw new Error(`ctr images import failed (exit ${r.code}): ${r.stderr}`);
}

/** Kills and removes every task and container of `ns`, then the image, so the namespace can go. */
async function purge(o: TaskBenchOptions, ns: string): Promise<void> {
  const tasks = await ctr(o, ns, ["tasks", "ls", "-q"]);
  for (const id of tasks.stdout.split("\n").filter((s) => s !== "")) {
    await ctr(o, ns, ["tasks", "kill", "-s", "SIGKILL", id]);
  }
  for (const id of tasks.stdout.split("\n").filter((s) => s !== "")) {
    for (let i = 0; i < 50; i++) {
      if ((await ctr(o, ns, ["tasks", "rm", id])).code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const containers = await ctr(o, ns, ["containers", "ls", "-q"]);
  for (const id of containers.stdout.split("\n").filter((s) => s !== "")) await ctr(o, ns, ["containers", "rm", id]);
  await ctr(o, ns, ["images", "rm", "--sync", BENCH_IMAGE]);
  await ctr(o, ns, ["namespaces", "rm", "--cgroup", ns]);
}

async function withNamespace<T>(o: TaskBenchOptions, fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = o.namespace ?? freshNamespace();
  await importBenchImage(o, ns);
  try {
    return await fn(ns);
  } finally {
    await purge(o, ns);
  }
}

async function runRm(o: TaskBenchOptions, ns: string, id: string): Promise<number> {
  const start = process.hrtime.bigint();
  const r = await ctr(o, ns, ["run", "--rm", "--runtime", o.runtime, BENCH_IMAGE, id, "true"]);
  const ms = msSince(start);
  if (r.code !== 0) throw new Error(`ctr run --rm ${id} failed (exit ${r.code}): ${r.stderr}`);
  return ms;
}

/**
 * `ctr run --rm <busybox> <id> true`, one after another: the median wall time of `runs` runs (after two
 * warm-up runs), in ms.
 */
export async function ctrRunRmLatency(o: TaskBenchOptions, runs = 20): Promise<Measurement> {
  return withNamespace(o, async (ns) => {
    for (let i = 0; i < 2; i++) await runRm(o, ns, `warm${i}`);
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) samples.push(await runRm(o, ns, `seq${i}`));
    return {
      value: median(samples),
      unit: "ms",
      note: `${o.runtime}: median of ${samples.length}, p90 ${quantile(samples, 0.9).toFixed(0)} ms`,
    };
  });
}

/**
 * `parallel` (default 20) `ctr run --rm` started at once, `batches` times: the median of the batches' wall
 * times (start to last exit), in ms, with every batch and the median per-run latency in the note. One
 * batch on a 2-CPU VM moves by ±15 % from one to the next, hence several.
 */
export async function ctrRunRmParallel(o: TaskBenchOptions, parallel = 20, batches = 5): Promise<Measurement> {
  return withNamespace(o, async (ns) => {
    await runRm(o, ns, "warm");
    const walls: number[] = [];
    const each: number[] = [];
    for (let b = 0; b < batches; b++) {
      const start = process.hrtime.bigint();
      each.push(...(await Promise.all(Array.from({ length: parallel }, (_, i) => runRm(o, ns, `par${b}-${i}`)))));
      walls.push(msSince(start));
    }
    return {
      value: median(walls),
      unit: "ms",
      note: `${o.runtime}: median of ${batches} batches of ${parallel} in parallel (${walls.map((w) => w.toFixed(0)).join(", ")} ms), per-run median ${median(each).toFixed(0)} ms`,
    };
  });
}

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Starts `containers` (default 10) `ctr run -d <busybox> <id> sleep 3600`, waits a moment, and reports the
 * sum of the RSS of the daemon's shim processes divided by the number of running containers, in MiB.
 */
export async function shimMemoryPerContainer(o: TaskBenchOptions, containers = 10): Promise<Measurement> {
  return withNamespace(o, async (ns) => {
    const before = new Set(shimPidsOf(o.address));
    for (let i = 0; i < containers; i++) {
      const r = await ctr(o, ns, ["run", "-d", "--runtime", o.runtime, BENCH_IMAGE, `mem${i}`, "sleep", "3600"]);
      if (r.code !== 0) throw new Error(`ctr run -d mem${i} failed (exit ${r.code}): ${r.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const shims = shimPidsOf(o.address).filter((p) => !before.has(p));
    const total = shims.reduce((sum, p) => sum + rssKiB(p), 0);
    return {
      value: total / 1024 / containers,
      unit: "MiB",
      note: `${o.runtime}: ${shims.length} shim process(es) for ${containers} containers, ${(total / 1024).toFixed(1)} MiB in all`,
    };
  });
}

/** Each daemon's default runtime: our shim for containertsd, the stock runc shim for containerd. */
export const DEFAULT_RUNTIMES = { containerts: "io.containerts.tsrunc.v1", containerd: "io.containerd.runc.v2" } as const;

/**
 * The benchmarks as runner entries for one runtime (the daemon must find that runtime's shim), or for
 * `default`: each daemon with its own default runtime ({@link DEFAULT_RUNTIMES}), the comparison issue 6
 * sets its goals on.
 */
export function taskBenchmarks(runtime: string): Benchmark[] {
  const isDefault = runtime === "default";
  const short = isDefault ? "default" : runtime.split(".").slice(-2).join(".");
  const label = isDefault ? "default runtimes: containertsd + io.containerts.tsrunc.v1, containerd + io.containerd.runc.v2" : runtime;
  const opts = (ctx: Parameters<Benchmark["run"]>[0]): TaskBenchOptions => {
    if (ctx.daemon === undefined) throw new Error("the task benchmarks need a daemon");
    const rt = isDefault ? DEFAULT_RUNTIMES[ctx.kind === "containerd" ? "containerd" : "containerts"] : runtime;
    return { address: ctx.daemon.address, runtime: rt, scratch: ctx.scratch };
  };
  return [
    {
      id: `ctr-run-rm-${short}`,
      title: `ctr run --rm latency, sequential (${label})`,
      issue: 6,
      better: "lower",
      target: "daemons",
      run: (ctx) => ctrRunRmLatency(opts(ctx), Math.max(10, ctx.runs)),
    },
    {
      id: `ctr-run-rm-20-${short}`,
      title: `20 × ctr run --rm in parallel, wall time (${label})`,
      issue: 6,
      better: "lower",
      target: "daemons",
      run: (ctx) => ctrRunRmParallel(opts(ctx), 20, Math.max(3, ctx.runs)),
    },
    {
      id: `shim-rss-${short}`,
      title: `shim memory per running container (${label})`,
      issue: 6,
      better: "lower",
      target: "daemons",
      run: (ctx) => shimMemoryPerContainer(opts(ctx), 10),
    },
  ];
}
