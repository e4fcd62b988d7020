/**
 * The benchmark model: each benchmark measures one number against one daemon (containertsd or containerd
 * 1.6, started by the runner on temp paths) or against the machine itself.
 */
import type { TestDaemon } from "@containerts/testkit";

/** What a benchmark run gets. */
export interface BenchContext {
  /** The daemon under test (absent for machine benchmarks). */
  readonly daemon?: TestDaemon;
  /** Which daemon this is. */
  readonly kind: "containerts" | "containerd" | "machine";
  /** Repetitions asked for (benchmarks take the median over them). */
  readonly runs: number;
  /** A scratch directory removed after the benchmark. */
  readonly scratch: string;
  /** Starts a fresh daemon of the same kind on new temp paths (for cold-start style benchmarks). */
  readonly startDaemon: () => Promise<TestDaemon>;
}

/** One measured number. */
export interface Measurement {
  readonly value: number;
  readonly unit: string;
  /** Extra detail shown in the table (p99, sample count…). */
  readonly note?: string;
}

/** A benchmark. */
export interface Benchmark {
  /** Stable identifier, used by `--only`. */
  readonly id: string;
  /** The row title in BENCHMARKS.md. */
  readonly title: string;
  /** The issue that asked for it. */
  readonly issue: number;
  /** Whether smaller or larger values are better (for the ratio's reading). */
  readonly better: "lower" | "higher";
  /** `daemons`: run against containertsd and containerd; `machine`: once, no daemon. */
  readonly target: "daemons" | "machine";
  run(ctx: BenchContext): Promise<Measurement>;
}

/** The median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

/** The q-quantile (0..1) of a list of numbers. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

/** Milliseconds since `start` (a process.hrtime.bigint() value). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}
