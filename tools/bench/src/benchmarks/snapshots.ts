/**
 * Issue 4's snapshot benchmark: prepare + commit latency of one layer, the per-layer cost of an unpack
 * (without the apply), measured through the gRPC proxy (`@containerts/client`) or the stock `ctr`.
 */
import { Client } from "@containerts/client";
import { withNamespace } from "@containerts/namespaces";
import { run } from "@containerts/testkit";
import { median, msSince, quantile, type Benchmark } from "../types.js";

/** Options of {@link measureSnapshotPrepareCommit}. */
export interface SnapshotBenchOptions {
  /** Measured prepare+commit pairs (default 200 through gRPC, 30 through ctr). */
  readonly iterations?: number;
  /** Unmeasured pairs first (default 10 through gRPC, 2 through ctr). */
  readonly warmup?: number;
  /** Snapshotter name (default `overlayfs`). */
  readonly snapshotter?: string;
  /** `grpc`: the in-process gRPC proxy; `ctr`: the stock `ctr snapshots prepare` / `commit` (default `grpc`). */
  readonly via?: "grpc" | "ctr";
  /**
   * Each layer on top of the previous one, as an unpack does (default true); false: every layer without
   * parent.
   */
  readonly chain?: boolean;
}

/** The result of {@link measureSnapshotPrepareCommit}: per prepare+commit pair, in milliseconds. */
export interface SnapshotBenchResult {
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly samplesMs: readonly number[];
}

/**
 * Measures prepare+commit latency against the daemon at `address` (containertsd or containerd): each
 * sample is one `Prepare(key, parent)` plus `Commit(name, key)`, both with a `containerd.io/gc.root`
 * label as ctr sets it, in a namespace of its own that is emptied afterwards (children first).
 */
export async function measureSnapshotPrepareCommit(address: string, options: SnapshotBenchOptions = {}): Promise<SnapshotBenchResult> {
  const via = options.via ?? "grpc";
  const iterations = options.iterations ?? (via === "grpc" ? 200 : 30);
  const warmup = options.warmup ?? (via === "grpc" ? 10 : 2);
  const snapshotter = options.snapshotter ?? "overlayfs";
  const chain = options.chain ?? true;
  const namespace = `bench-snapshots-${process.pid}-${Date.now()}`;
  const client = await Client.connect(address, { namespace });
  const sn = client.snapshots(snapshotter);
  const ctx = withNamespace(client.context(), namespace);
  const committed: string[] = [];
  const samples: number[] = [];
  const labels = () => ({ "containerd.io/gc.root": new Date().toISOString() });
  const ctrRun = async (args: string[]) => {
    const r = await run("ctr", ["--address", address, "--namespace", namespace, "snapshots", "--snapshotter", snapshotter, ...args]);
    if (r.code !== 0) throw new Error(`ctr snapshots ${args.join(" ")}: ${r.stderr.trim()}`);
  };
  try {
    for (let i = 0; i < warmup + iterations; i++) {
      const parent = chain ? committed.at(-1) : undefined;
      const key = `layer-${i}-active`;
      const name = `layer-${i}`;
      const t = process.hrtime.bigint();
      if (via === "grpc") {
        await sn.prepare(ctx, key, parent, { labels: labels() });
        await sn.commit(ctx, name, key, { labels: labels() });
      } else {
        await ctrRun(["prepare", key, ...(parent === undefined ? [] : [parent])]);
        await ctrRun(["commit", name, key]);
      }
      const ms = msSince(t);
      committed.push(name);
      if (i >= warmup) samples.push(ms);
    }
  } finally {
    for (const name of committed.reverse()) await sn.remove(ctx, name).catch(() => undefined);
    await client.namespaces.delete(ctx, namespace).catch(() => undefined);
    client.close();
  }
  return { medianMs: median(samples), p90Ms: quantile(samples, 0.9), p99Ms: quantile(samples, 0.99), samplesMs: samples };
}

export const snapshotPrepareCommit: Benchmark = {
  id: "snapshot-prepare-commit",
  title: "snapshot prepare+commit latency (overlayfs, layer chain, gRPC client)",
  issue: 4,
  better: "lower",
  target: "daemons",
  async run(ctx) {
    const r = await measureSnapshotPrepareCommit(ctx.daemon!.address, { iterations: Math.max(200, ctx.runs) });
    return { value: r.medianMs, unit: "ms", note: `p90 ${r.p90Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms over ${r.samplesMs.length} pairs` };
  },
};

export const ctrSnapshotPrepareCommit: Benchmark = {
  id: "ctr-snapshot-prepare-commit",
  title: "`ctr snapshots prepare` + `commit` (stock ctr, overlayfs)",
  issue: 4,
  better: "lower",
  target: "daemons",
  async run(ctx) {
    const r = await measureSnapshotPrepareCommit(ctx.daemon!.address, { via: "ctr", iterations: Math.max(30, ctx.runs) });
    return { value: r.medianMs, unit: "ms", note: `median of ${r.samplesMs.length} (two ctr processes each)` };
  },
};

/** The snapshot benchmarks, for the runner's list. */
export const snapshotBenchmarks: readonly Benchmark[] = [snapshotPrepareCommit, ctrSnapshotPrepareCommit];
