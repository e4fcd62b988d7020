/**
 * Issue 4's apply benchmark: throughput of layer application (MB/s of uncompressed layer data) of a
 * large synthetic multi-layer gzip image, applied through the Diff gRPC service onto an overlayfs
 * snapshot chain — what an image unpack does per layer (Prepare, Diff.Apply, Commit), with only the
 * Apply calls timed. The same function runs against containertsd and containerd 1.6.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { Client } from "@containerts/client";
import { withLease, withNamespace } from "@containerts/namespaces";
import { median, msSince, type Benchmark } from "../types.js";

/** Options of {@link measureDiffApply}. */
export interface DiffApplyBenchOptions {
  /** Layers in the image (default 6). */
  readonly layers?: number;
  /** Uncompressed bytes per layer, approximately (default 64 MiB). */
  readonly layerBytes?: number;
  /** Snapshotter (default `overlayfs`). */
  readonly snapshotter?: string;
  /** Seed of the synthetic content (default 1): the same seed gives the same layers. */
  readonly seed?: number;
}

/** The result of {@link measureDiffApply}. */
export interface DiffApplyBenchResult {
  /** Uncompressed bytes applied over the summed Apply time, in MB/s (10^6 bytes). */
  readonly mbPerSecond: number;
  readonly uncompressedBytes: number;
  readonly compressedBytes: number;
  readonly files: number;
  /** Summed duration of the Apply calls. */
  readonly applyMs: number;
  /** Prepare + Apply + Commit of all layers. */
  readonly totalMs: number;
  /** Per-layer Apply durations. */
  readonly layerMs: readonly number[];
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua".split(" ");

/** File content that compresses about like program text and binaries mixed (gzip ratio ~2.5–3). */
function content(rand: () => number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    if (rand() < 0.015) {
      const n = Math.min(size - off, 64 + Math.floor(rand() * 192));
      for (let i = 0; i < n; i++) b[off + i] = Math.floor(rand() * 256);
      off += n;
    } else {
      const w = `${WORDS[Math.floor(rand() * WORDS.length)]}${rand() < 0.1 ? "\n" : " "}`;
      off += b.write(w, off, "latin1");
    }
  }
  return b;
}

function header(name: string, type: string, size: number, mode: number, linkname = ""): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, "utf8");
  b.write(`${mode.toString(8).padStart(7, "0")}\0`, 100, 8, "latin1");
  b.write("0000000\0", 108, 8, "latin1");
  b.write("0000000\0", 116, 8, "latin1");
  b.write(`${size.toString(8).padStart(11, "0")}\0`, 124, 12, "latin1");
  b.write(`${(1_700_000_000).toString(8).padStart(11, "0")}\0`, 136, 12, "latin1");
  b.write(type, 156, 1, "latin1");
  b.write(linkname, 157, 100, "utf8");
  b.write("ustar\x0000", 257, 8, "latin1");
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (b[i] as number);
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
  return b;
}

/**
 * One synthetic layer: directories, many small files (1–32 KiB), some large ones (1–8 MiB), symlinks,
 * hardlinks, and from the second layer on whiteouts of earlier files.
 */
function syntheticLayer(index: number, bytes: number, rand: () => number): { tar: Buffer; files: number } {
  const parts: Buffer[] = [];
  let size = 0;
  let files = 0;
  const dirs = 16;
  for (let d = 0; d < dirs; d++) parts.push(header(`l${index}/d${d}/`, "5", 0, 0o755));
  if (index > 0) {
    for (let i = 0; i < 8; i++) parts.push(header(`l${index - 1}/d${i}/.wh.f${i}`, "0", 0, 0));
    parts.push(header(`l${index - 1}/d15/.wh..wh..opq`, "0", 0, 0));
  }
  while (size < bytes) {
    const large = rand() < 0.02;
    const n = Math.min(bytes - size, large ? (1 + Math.floor(rand() * 8)) << 20 : 1024 + Math.floor(rand() * 31 * 1024));
    const name = `l${index}/d${files % dirs}/f${files}`;
    parts.push(header(name, "0", n, rand() < 0.1 ? 0o755 : 0o644), content(rand, n), Buffer.alloc(-n & 511));
    if (files % 50 === 7) parts.push(header(`${name}.lnk`, "2", 0, 0o777, `f${files}`));
    if (files % 97 === 3) parts.push(header(`${name}.hl`, "1", 0, 0o644, name));
    size += n;
    files++;
  }
  parts.push(Buffer.alloc(1024));
  return { tar: Buffer.concat(parts), files };
}

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/**
 * Applies a synthetic multi-layer gzip image through the Diff service of the daemon at `address` onto
 * an overlayfs snapshot chain, in a namespace of its own under a lease, and measures the throughput of
 * the Apply calls. Verifies every applied digest against the layer's diff ID. Everything created is
 * removed afterwards.
 */
export async function measureDiffApply(address: string, options: DiffApplyBenchOptions = {}): Promise<DiffApplyBenchResult> {
  const layers = options.layers ?? 6;
  const layerBytes = options.layerBytes ?? 64 << 20;
  const snapshotter = options.snapshotter ?? "overlayfs";
  const rand = prng(options.seed ?? 1);
  const image = Array.from({ length: layers }, (_, i) => {
    const { tar, files } = syntheticLayer(i, layerBytes, rand);
    const gz = gzipSync(tar, { level: 6 });
    return { diffId: sha256(tar), size: tar.byteLength, gz, digest: sha256(gz), files };
  });

  const namespace = `bench-diff-${process.pid}-${Date.now()}`;
  const client = await Client.connect(address, { namespace });
  const base = withNamespace(client.context(), namespace);
  const lease = await client.leases.create(base, { labels: { "containerd.io/gc.expire": new Date(Date.now() + 3600_000).toISOString() } });
  const ctx = withLease(base, lease.id);
  const sn = client.snapshots(snapshotter);
  const committed: string[] = [];
  const layerMs: number[] = [];
  const t0 = process.hrtime.bigint();
  try {
    for (const l of image) {
      const w = await client.content.writer(ctx, { ref: `bench-${l.digest}`, total: l.gz.byteLength, expected: l.digest });
      for (let off = 0; off < l.gz.byteLength; off += 1 << 20) await w.write(l.gz.subarray(off, off + (1 << 20)));
      await w.commit(l.gz.byteLength, l.digest);
    }
    let parent: string | undefined;
    let chain = "";
    for (const [i, l] of image.entries()) {
      chain = i === 0 ? l.diffId : sha256(Buffer.from(`${chain} ${l.diffId}`));
      const key = `extract-${i}-${chain}`;
      const mounts = await sn.prepare(ctx, key, parent);
      const t = process.hrtime.bigint();
      const applied = await client.diff.apply(ctx, { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: l.digest, size: l.gz.byteLength }, mounts);
      layerMs.push(msSince(t));
      if (applied.digest !== l.diffId) throw new Error(`layer ${i}: applied ${applied.digest}, want ${l.diffId}`);
      await sn.commit(ctx, chain, key);
      committed.push(chain);
      parent = chain;
    }
  } finally {
    for (const name of [...committed].reverse()) await sn.remove(ctx, name).catch(() => undefined);
    await client.leases.delete(base, { id: lease.id }, { sync: true }).catch(() => undefined);
    await client.namespaces.delete(base, namespace).catch(() => undefined);
    client.close();
  }
  const totalMs = msSince(t0);
  const applyMs = layerMs.reduce((a, b) => a + b, 0);
  const uncompressedBytes = image.reduce((a, l) => a + l.size, 0);
  return {
    mbPerSecond: uncompressedBytes / 1e6 / (applyMs / 1000),
    uncompressedBytes,
    compressedBytes: image.reduce((a, l) => a + l.gz.byteLength, 0),
    files: image.reduce((a, l) => a + l.files, 0),
    applyMs,
    totalMs,
    layerMs,
  };
}

export const diffApplyThroughput: Benchmark = {
  id: "diff-apply-throughput",
  title: "layer apply throughput (6 × 64 MiB gzip layers, Diff.Apply onto overlayfs, gRPC client)",
  issue: 4,
  better: "higher",
  target: "daemons",
  async run(ctx) {
    const results: DiffApplyBenchResult[] = [];
    for (let i = 0; i < Math.max(1, Math.min(ctx.runs, 3)); i++) results.push(await measureDiffApply(ctx.daemon!.address));
    const mbps = median(results.map((r) => r.mbPerSecond));
    const r = results[0] as DiffApplyBenchResult;
    return {
      value: mbps,
      unit: "MB/s",
      note: `${(r.uncompressedBytes / 1e6).toFixed(0)} MB uncompressed (${(r.compressedBytes / 1e6).toFixed(0)} MB gzip), ${r.files} files, median of ${results.length}`,
    };
  },
};

/** The diff benchmarks, for the runner's list. */
export const diffBenchmarks: readonly Benchmark[] = [diffApplyThroughput];
