/**
 * Issue 3's benchmarks: ingest throughput of a 512 MiB blob through the stock `ctr content ingest`, read
 * throughput of a 256 MiB blob through `ctr content get`, the machine's sha256-plus-write limit for the same amount of data (what a single-stream ingest can reach
 * at best), and metadata write throughput (small durable label updates through `Content.Update`).
 */
import { createHash, randomFillSync } from "node:crypto";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";

import { Client } from "@containerts/client";
import { withNamespace } from "@containerts/namespaces";
import { run } from "@containerts/testkit";

import { median, msSince, type Benchmark } from "../types.js";

const MiB = 1 << 20;

/** Writes `size` random bytes to `path` (fsynced, so that writeback does not disturb a measurement); returns the digest. */
async function randomFile(path: string, size: number): Promise<string> {
  const fh = await open(path, "w");
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(Math.min(size, 4 * MiB));
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(buf.byteLength, size - done);
      randomFillSync(buf, 0, n);
      hash.update(buf.subarray(0, n));
      await fh.write(buf, 0, n);
      done += n;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return `sha256:${hash.digest("hex")}`;
}

/** Options of {@link measureCtrIngest}. */
export interface CtrIngestOptions {
  /** Blob size in bytes (default 512 MiB). */
  readonly size?: number;
  /** Measured ingests (default 3). */
  readonly runs?: number;
  /** Where the source file is written (removed afterwards). */
  readonly scratch: string;
}

/** The result of {@link measureCtrIngest}. */
export interface CtrIngestResult {
  /** Median throughput in MB/s (10^6 bytes per second). */
  readonly mbPerSecond: number;
  readonly samplesMbPerSecond: readonly number[];
}

async function ctrOk(address: string, namespace: string, args: string[]): Promise<void> {
  const r = await run("ctr", ["--address", address, "--namespace", namespace, ...args], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`ctr ${args.join(" ")}: ${r.stderr.trim()}`);
}

/**
 * Measures `ctr content ingest --expected-size --expected-digest` of a random blob (stdin redirected
 * from a page-cached file) against the daemon at `address` (containertsd or containerd): from the start
 * of the ctr process to its exit, which includes the commit (fsync, publish, metadata). Between runs the
 * blob is removed and a synchronous lease delete makes the daemon collect it, so that every run writes
 * the data (no shared-blob shortcut).
 */
export async function measureCtrIngest(address: string, options: CtrIngestOptions): Promise<CtrIngestResult> {
  const size = options.size ?? 512 * MiB;
  const runs = options.runs ?? 3;
  const namespace = `bench-ingest-${process.pid}-${Date.now()}`;
  const file = join(options.scratch, "ingest.blob");
  const dgst = await randomFile(file, size);
  const samples: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const t = process.hrtime.bigint();
      const r = await run(
        "sh",
        ["-c", `exec ctr --address "$0" --namespace "$1" content ingest --expected-size "$2" --expected-digest "$3" "$4" < "$5"`, address, namespace, String(size), dgst, `bench-${i}`, file],
        { timeoutMs: 600_000 },
      );
      const ms = msSince(t);
      if (r.code !== 0) throw new Error(`ctr content ingest: ${r.stderr.trim()}`);
      samples.push(size / 1e6 / (ms / 1000));
      await ctrOk(address, namespace, ["content", "rm", dgst]);
      await ctrOk(address, namespace, ["leases", "create", "--id", `bench-gc-${i}`]);
      await ctrOk(address, namespace, ["leases", "rm", "--sync", `bench-gc-${i}`]);
    }
  } finally {
    await rm(file, { force: true });
    await run("ctr", ["--address", address, "namespaces", "rm", namespace]).catch(() => undefined);
  }
  return { mbPerSecond: median(samples), samplesMbPerSecond: samples };
}

/**
 * Measures `ctr content get` of a random blob of `size` bytes (default 256 MiB) to /dev/null: ingested
 * once (root-labelled so no collection removes it), then read `runs` times (default 3). ctr reads
 * through a ReaderAt, one Read RPC per 32 KiB, so this is as much a per-RPC cost as a streaming one.
 */
export async function measureCtrContentGet(address: string, options: CtrIngestOptions): Promise<CtrIngestResult> {
  const size = options.size ?? 256 * MiB;
  const runs = options.runs ?? 3;
  const namespace = `bench-get-${process.pid}-${Date.now()}`;
  const file = join(options.scratch, "get.blob");
  const dgst = await randomFile(file, size);
  const samples: number[] = [];
  try {
    const r = await run(
      "sh",
      ["-c", `exec ctr --address "$0" --namespace "$1" content ingest --expected-size "$2" --expected-digest "$3" bench-get < "$4"`, address, namespace, String(size), dgst, file],
      { timeoutMs: 600_000 },
    );
    if (r.code !== 0) throw new Error(`ctr content ingest: ${r.stderr.trim()}`);
    await ctrOk(address, namespace, ["content", "label", dgst, "containerd.io/gc.root=bench"]);
    for (let i = 0; i < runs; i++) {
      const t = process.hrtime.bigint();
      const g = await run("sh", ["-c", `exec ctr --address "$0" --namespace "$1" content get "$2" > /dev/null`, address, namespace, dgst], { timeoutMs: 600_000 });
      const ms = msSince(t);
      if (g.code !== 0) throw new Error(`ctr content get: ${g.stderr.trim()}`);
      samples.push(size / 1e6 / (ms / 1000));
    }
    await ctrOk(address, namespace, ["content", "rm", dgst]);
  } finally {
    await rm(file, { force: true });
    await run("ctr", ["--address", address, "namespaces", "rm", namespace]).catch(() => undefined);
  }
  return { mbPerSecond: median(samples), samplesMbPerSecond: samples };
}

/** The result of {@link measureHashWriteLimit}. */
export interface HashWriteResult {
  /** Median throughput in MB/s (10^6 bytes per second). */
  readonly mbPerSecond: number;
  readonly samplesMbPerSecond: readonly number[];
}

/**
 * The machine's sha256-plus-write limit: hashes and writes `size` bytes (default 512 MiB) in 1 MiB
 * chunks to a new file in `dir` and fsyncs it, in-process, the way a single ingest stream has to (each
 * chunk's write runs on the thread pool while the main thread hashes it). No protocol, no metadata: an
 * upper bound for one ingest on this machine and filesystem.
 */
export async function measureHashWriteLimit(dir: string, options: { size?: number; runs?: number } = {}): Promise<HashWriteResult> {
  const size = options.size ?? 512 * MiB;
  const runs = options.runs ?? 3;
  const chunk = Buffer.allocUnsafe(MiB);
  randomFillSync(chunk);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const path = join(dir, `limit-${i}.bin`);
    const t = process.hrtime.bigint();
    const fh = await open(path, "w");
    try {
      const hash = createHash("sha256");
      for (let done = 0; done < size; done += MiB) {
        const piece = chunk.subarray(0, Math.min(MiB, size - done));
        const written = fh.write(piece, 0, piece.byteLength, done);
        hash.update(piece);
        await written;
      }
      await fh.datasync();
      hash.digest();
    } finally {
      await fh.close();
    }
    samples.push(size / 1e6 / (msSince(t) / 1000));
    await rm(path, { force: true });
  }
  return { mbPerSecond: median(samples), samplesMbPerSecond: samples };
}

/** Options of {@link measureLabelUpdates}. */
export interface LabelUpdateOptions {
  /** Measured updates (default 2000). */
  readonly updates?: number;
  /** Updates in flight at once (default 16; 1 measures the latency of one durable update). */
  readonly concurrency?: number;
}

/** The result of {@link measureLabelUpdates}. */
export interface LabelUpdateResult {
  readonly updatesPerSecond: number;
  readonly updates: number;
  readonly concurrency: number;
}

/**
 * Metadata write throughput: `Content.Update` of one label (`labels.k<i>`) on one blob, through the gRPC
 * client, with `concurrency` updates in flight. Every update is durable when answered (bolt's fsync in
 * containerd, a synced level batch with group commit in containertsd).
 */
export async function measureLabelUpdates(address: string, options: LabelUpdateOptions = {}): Promise<LabelUpdateResult> {
  const updates = options.updates ?? 2000;
  const concurrency = options.concurrency ?? 16;
  const namespace = `bench-labels-${process.pid}-${Date.now()}`;
  const client = await Client.connect(address, { namespace });
  const ctx = withNamespace(client.context(), namespace);
  const cs = client.content;
  const bytes = Buffer.from(`label benchmark blob ${namespace}`);
  const dgst = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  try {
    const w = await cs.writer(ctx, { ref: "labels", total: bytes.byteLength, expected: dgst });
    await w.write(bytes);
    await w.commit(bytes.byteLength, dgst, { labels: { "containerd.io/gc.root": new Date().toISOString() } });
    // Warm-up.
    for (let i = 0; i < 20; i++) await cs.update(ctx, { digest: dgst, labels: { warm: String(i) } }, ["labels.warm"]);
    let next = 0;
    const t = process.hrtime.bigint();
    const worker = async () => {
      for (let i = next++; i < updates; i = next++) {
        await cs.update(ctx, { digest: dgst, labels: { [`k${i % 64}`]: String(i) } }, [`labels.k${i % 64}`]);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = msSince(t) / 1000;
    return { updatesPerSecond: updates / seconds, updates, concurrency };
  } finally {
    await cs.delete(ctx, dgst).catch(() => undefined);
    await client.namespaces.delete(ctx, namespace).catch(() => undefined);
    client.close();
  }
}

/** A throughput result as a table row: the median, with every sample in the note. */
function throughput(r: CtrIngestResult): { value: number; unit: string; note: string } {
  return { value: r.mbPerSecond, unit: "MB/s", note: `median of ${r.samplesMbPerSecond.length}: ${r.samplesMbPerSecond.map((v) => v.toFixed(0)).join(", ")} MB/s` };
}

export const ctrIngest512: Benchmark = {
  id: "content-ingest-512m",
  title: "`ctr content ingest` of a 512 MiB blob (stock ctr, stdin from a cached file)",
  issue: 3,
  better: "higher",
  target: "daemons",
  async run(ctx) {
    return throughput(await measureCtrIngest(ctx.daemon!.address, { scratch: ctx.scratch, runs: Math.max(3, Math.min(ctx.runs, 5)) }));
  },
};

export const ctrGet256: Benchmark = {
  id: "content-get-256m",
  title: "`ctr content get` of a 256 MiB blob to /dev/null (stock ctr: one Read RPC per 32 KiB)",
  issue: 3,
  better: "higher",
  target: "daemons",
  async run(ctx) {
    return throughput(await measureCtrContentGet(ctx.daemon!.address, { scratch: ctx.scratch, runs: Math.max(3, Math.min(ctx.runs, 5)) }));
  },
};

export const hashWriteLimit: Benchmark = {
  id: "content-sha256-write-limit",
  title: "machine limit: sha256 + write + fsync of 512 MiB, in-process (same filesystem)",
  issue: 3,
  better: "higher",
  target: "machine",
  async run(ctx) {
    const r = await measureHashWriteLimit(ctx.scratch, { runs: Math.max(3, Math.min(ctx.runs, 5)) });
    return { value: r.mbPerSecond, unit: "MB/s", note: `median of ${r.samplesMbPerSecond.length}; upper bound for one ingest stream` };
  },
};

export const labelUpdates: Benchmark = {
  id: "content-label-updates",
  title: "durable label updates (`Content.Update`, 16 in flight, gRPC client)",
  issue: 3,
  better: "higher",
  target: "daemons",
  async run(ctx) {
    const r = await measureLabelUpdates(ctx.daemon!.address, { updates: 2000, concurrency: 16 });
    return { value: r.updatesPerSecond, unit: "updates/s", note: `${r.updates} updates, ${r.concurrency} in flight` };
  },
};

export const labelUpdatesSerial: Benchmark = {
  id: "content-label-updates-serial",
  title: "durable label updates, one at a time (`Content.Update`, gRPC client)",
  issue: 3,
  better: "higher",
  target: "daemons",
  async run(ctx) {
    const r = await measureLabelUpdates(ctx.daemon!.address, { updates: 300, concurrency: 1 });
    return { value: r.updatesPerSecond, unit: "updates/s", note: `${r.updates} sequential updates` };
  },
};

/** The content benchmarks, for the runner's list. */
export const contentBenchmarks: readonly Benchmark[] = [ctrIngest512, ctrGet256, hashWriteLimit, labelUpdates, labelUpdatesSerial];
