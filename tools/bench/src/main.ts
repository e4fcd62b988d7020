/**
 * `pnpm bench`: runs every benchmark against containertsd and, when it is installed, the stock containerd
 * 1.6, each started on its own temp paths, and writes BENCHMARKS.md with medians and the
 * containerts/containerd ratio.
 *
 *   pnpm bench [--only REGEX] [--runs N] [--out FILE]
 */
import { parseArgs } from "node:util";
import { mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { startContainerd, startContainertsd, repoRoot, type TestDaemon } from "@containerts/testkit";
import type { Benchmark, BenchContext, Measurement } from "./types.js";
import { daemonBenchmarks } from "./benchmarks/daemon.js";
import { snapshotBenchmarks } from "./benchmarks/snapshots.js";
import { eventsPerSecond } from "./benchmarks/events.js";
import { diffBenchmarks } from "./benchmarks/diff.js";
import { taskBenchmarks } from "./benchmarks/tasks.js";
import { contentBenchmarks } from "./benchmarks/content.js";
import { imageBenchmarks } from "./benchmarks/images.js";

/** Every benchmark, in table order (by issue). Later issues append theirs here. */
const all: readonly Benchmark[] = [
  ...daemonBenchmarks,
  ...contentBenchmarks,
  ...snapshotBenchmarks,
  ...diffBenchmarks,
  ...imageBenchmarks,
  ...taskBenchmarks("default"),
  ...taskBenchmarks("io.containerd.runc.v2"),
  ...taskBenchmarks("io.containerts.tsrunc.v1"),
  eventsPerSecond,
];

interface Row {
  readonly bench: Benchmark;
  readonly ts?: Measurement | Error;
  readonly cd?: Measurement | Error;
}

function haveContainerd(): boolean {
  return spawnSync("sh", ["-c", "command -v containerd"]).status === 0;
}

function fmt(m: Measurement | Error | undefined): string {
  if (m === undefined) return "—";
  if (m instanceof Error) return `failed: ${m.message.split("\n")[0]?.slice(0, 80)}`;
  const v = Math.abs(m.value) >= 100 ? m.value.toFixed(0) : m.value.toFixed(m.value >= 10 ? 1 : 2);
  return `${v} ${m.unit}`;
}

function ratio(r: Row): string {
  if (!r.ts || !r.cd || r.ts instanceof Error || r.cd instanceof Error || r.cd.value === 0) return "—";
  return (r.ts.value / r.cd.value).toFixed(2);
}

async function measure(b: Benchmark, kind: BenchContext["kind"], daemon: TestDaemon | undefined, runs: number, start: () => Promise<TestDaemon>): Promise<Measurement | Error> {
  const scratch = await mkdtemp(join(tmpdir(), `bench-${b.id}-`));
  try {
    process.stderr.write(`bench: ${b.id} on ${kind}…\n`);
    return await b.run({ ...(daemon ? { daemon } : {}), kind, runs, scratch, startDaemon: start });
  } catch (err) {
    process.stderr.write(`bench: ${b.id} on ${kind} failed: ${(err as Error).stack ?? String(err)}\n`);
    return err instanceof Error ? err : new Error(String(err));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { only: { type: "string" }, runs: { type: "string" }, out: { type: "string" } },
  });
  const only = values.only ? new RegExp(values.only) : undefined;
  const runs = values.runs ? Number(values.runs) : 5;
  const out = values.out ?? join(repoRoot, "BENCHMARKS.md");
  const selected = all.filter((b) => !only || only.test(b.id));
  const withContainerd = haveContainerd();
  const rows: Row[] = [];

  // Each daemon benchmark gets a fresh daemon so benchmarks do not disturb each other.
  for (const b of selected) {
    if (b.target === "machine") {
      rows.push({ bench: b, ts: await measure(b, "machine", undefined, runs, () => startContainertsd({ testEnv: false })) });
      continue;
    }
    const d1 = await startContainertsd({ testEnv: false });
    let ts: Measurement | Error;
    try {
      ts = await measure(b, "containerts", d1, runs, () => startContainertsd({ testEnv: false }));
    } finally {
      await d1.cleanup();
    }
    let cd: Measurement | Error | undefined;
    if (withContainerd) {
      const d2 = await startContainerd({ testEnv: false });
      try {
        cd = await measure(b, "containerd", d2, runs, () => startContainerd({ testEnv: false }));
      } finally {
        await d2.cleanup();
      }
    }
    rows.push({ bench: b, ts, ...(cd ? { cd } : {}) });
  }

  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const containerdVersion = withContainerd ? spawnSync("containerd", ["--version"], { encoding: "utf8" }).stdout.trim() : "not installed";
  const cmd = `pnpm bench${values.only ? ` --only '${values.only}'` : ""}${values.runs ? ` --runs ${values.runs}` : ""}`;
  const lines = [
    "# Benchmarks",
    "",
    "containerts beside containerd 1.6 on the same machine, driven by the same client. Each number is a",
    "median; ratio = containerts / containerd (below 1 is better for time and memory, above 1 for throughput).",
    "",
    `Reproduce: \`${cmd}\` (root; \`./quickstart.sh setup\` first).`,
    "",
    `Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}; reference: ${containerdVersion}. Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC.`,
    "",
    "| issue | metric | containerts | containerd 1.6 | ratio | better | notes |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => {
      const notes = [r.ts, r.cd].filter((m): m is Measurement => m !== undefined && !(m instanceof Error) && m.note !== undefined).map((m) => m.note).join("; containerd: ");
      return `| ${r.bench.issue} | ${r.bench.title} | ${fmt(r.ts)} | ${r.bench.target === "machine" ? "(machine)" : fmt(r.cd)} | ${ratio(r)} | ${r.bench.better} | ${notes} |`;
    }),
    "",
  ];
  let tail = "";
  try {
    const prev = await readFile(out, "utf8");
    const i = prev.indexOf("\n## Notes");
    if (i >= 0) tail = prev.slice(i);
  } catch {
    // first run
  }
  await writeFile(out, lines.join("\n") + tail);
  process.stdout.write(lines.join("\n"));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
