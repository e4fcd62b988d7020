/**
 * Issue 5's image benchmarks, all through the same stock containerd 1.6 `ctr` against whichever daemon
 * runs at the address (containertsd or containerd):
 *
 * - `ctr images import` (which unpacks) of the busybox image and of a large multi-layer synthetic image;
 * - `ctr images pull --plain-http` (fetch, then unpack) of the large image from a local docker-registry.
 *
 * Every sample runs in a namespace of its own and is followed by `ctr images rm --sync` there, so the
 * next sample finds no blob and no snapshot to reuse (content is shared between namespaces of a daemon).
 * Test images are built once by `containerts-testimages` and cached under the system temp directory.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Registry, parseReference } from "@containerts/client";
import { repoRoot, run, startRegistry, tsctrBin, type TestRegistry } from "@containerts/testkit";

import { median, msSince, type Benchmark } from "../types.js";

/** What an image benchmark measured. */
export interface ImageBenchResult {
  /** Median wall time of one ctr command, in milliseconds. */
  readonly medianMs: number;
  /** Bytes moved per sample (archive size for import, compressed image size for pull). */
  readonly bytes: number;
  /** `bytes` over the median time, in MiB/s. */
  readonly mibPerSecond: number;
  readonly samplesMs: readonly number[];
}

/** Options of the image benchmarks. */
export interface ImageBenchOptions {
  /** Measured samples (default 5). */
  readonly runs?: number;
  /** Unmeasured samples first (default 1). */
  readonly warmup?: number;
}

/** The large synthetic image: 8 synthetic layers of ~24 MiB (2000 files each) over busybox. */
export const LARGE_IMAGE = { name: "docker.io/bench/large:latest", layers: 8, files: 2000, bytesPerLayer: 24 << 20 } as const;

const cacheDir = join(tmpdir(), "containerts-bench-images");
const testimages = join(repoRoot, "tools/testimages/bin/containerts-testimages");

async function cached(file: string, args: readonly string[]): Promise<string> {
  const path = join(cacheDir, file);
  if (existsSync(path)) return path;
  await mkdir(cacheDir, { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  const r = await run(process.execPath, [testimages, ...args, "-o", partial], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`containerts-testimages ${args.join(" ")}: ${r.stderr}`);
  await rename(partial, path);
  return path;
}

/** The busybox OCI archive (built once). */
export function busyboxArchive(): Promise<string> {
  return cached("busybox.tar", ["busybox"]);
}

/** The large synthetic OCI archive (built once). */
export function largeArchive(): Promise<string> {
  return cached(`large-${LARGE_IMAGE.layers}x${LARGE_IMAGE.files}x${LARGE_IMAGE.bytesPerLayer}.tar`, [
    "synthetic",
    "--layers",
    String(LARGE_IMAGE.layers),
    "--files",
    String(LARGE_IMAGE.files),
    "--bytes",
    String(LARGE_IMAGE.bytesPerLayer),
    "--name",
    LARGE_IMAGE.name,
  ]);
}

async function ctrOk(address: string, namespace: string, args: readonly string[]): Promise<void> {
  const r = await run("ctr", ["--address", address, "--namespace", namespace, ...args], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`ctr ${args.join(" ")}: ${r.stderr.trim() || r.stdout.trim()}`);
}

/** Removes every image of `namespace` with `--sync` (the collection takes their blobs and snapshots). */
async function emptyNamespace(address: string, namespace: string): Promise<void> {
  const r = await run("ctr", ["--address", address, "--namespace", namespace, "images", "ls", "-q"]);
  const names = r.stdout.split("\n").filter((n) => n !== "");
  if (names.length > 0) await ctrOk(address, namespace, ["images", "rm", "--sync", ...names]);
  await run("ctr", ["--address", address, "namespaces", "rm", namespace]);
}

async function measure(address: string, label: string, bytes: number, options: ImageBenchOptions, sample: (namespace: string) => Promise<void>): Promise<ImageBenchResult> {
  const runs = options.runs ?? 5;
  const warmup = options.warmup ?? 1;
  const samples: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const namespace = `bench-${label}-${process.pid}-${i}`;
    try {
      const t = process.hrtime.bigint();
      await sample(namespace);
      const ms = msSince(t);
      if (i >= warmup) samples.push(ms);
    } finally {
      await emptyNamespace(address, namespace);
    }
  }
  const m = median(samples);
  return { medianMs: m, bytes, mibPerSecond: bytes / (1 << 20) / (m / 1000), samplesMs: samples };
}

/** Measures `ctr images import <archive>` (with its unpack) against the daemon at `address`. */
export async function measureCtrImport(address: string, archive: string, options: ImageBenchOptions = {}): Promise<ImageBenchResult> {
  const { size } = await stat(archive);
  return measure(address, "import", size, options, (ns) => ctrOk(address, ns, ["images", "import", archive]));
}

/** The blobs of an OCI archive (extracted with tar(1)) and its single image's manifest descriptor. */
async function readArchive(path: string): Promise<{ blobs: Map<string, Buffer>; manifest: { mediaType: string; digest: string; size: number } }> {
  const dir = await mkdtemp(join(tmpdir(), "bench-archive-"));
  try {
    const r = await run("tar", ["-xf", path, "-C", dir]);
    if (r.code !== 0) throw new Error(`tar -xf ${path}: ${r.stderr}`);
    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests?: { mediaType: string; digest: string; size: number }[] };
    const manifest = index.manifests?.[0];
    if (manifest === undefined) throw new Error(`${path}: no manifest in index.json`);
    const blobs = new Map<string, Buffer>();
    for (const hex of await readdir(join(dir, "blobs/sha256"))) blobs.set(`sha256:${hex}`, await readFile(join(dir, "blobs/sha256", hex)));
    return { blobs, manifest };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A local registry holding the image of an OCI archive under `<host>/<repository>:<tag>`. */
export interface SeededRegistry {
  readonly registry: TestRegistry;
  readonly ref: string;
  /** Compressed bytes of the image (manifest, config, layers). */
  readonly bytes: number;
}

/** Starts a docker-registry and uploads the archive's image to it over HTTP (no daemon involved). */
export async function seedRegistry(archive: string, repository = "bench/large", tag = "latest"): Promise<SeededRegistry> {
  const registry = await startRegistry();
  try {
    const { blobs, manifest } = await readArchive(archive);
    const ref = `${registry.host}/${repository}:${tag}`;
    const reg = new Registry(parseReference(ref));
    let bytes = 0;
    for (const [digest, data] of blobs) {
      bytes += data.byteLength;
      if (digest === manifest.digest) continue;
      await reg.pushBlob({ mediaType: "application/octet-stream", digest, size: data.byteLength }, async function* () {
        yield data;
      });
    }
    await reg.pushManifest(tag, manifest, blobs.get(manifest.digest)!);
    return { registry, ref, bytes };
  } catch (err) {
    await registry.stop();
    throw err;
  }
}

/** Measures `ctr images pull --plain-http <ref>` (fetch and unpack) against the daemon at `address`. */
export async function measureCtrPull(address: string, seeded: Pick<SeededRegistry, "ref" | "bytes">, options: ImageBenchOptions = {}): Promise<ImageBenchResult> {
  return measure(address, "pull", seeded.bytes, options, (ns) => ctrOk(address, ns, ["images", "pull", "--plain-http", seeded.ref]));
}

/**
 * Measures `tsctr images pull --plain-http <ref>` against the daemon at `address`: our client, which
 * applies each layer as soon as it has downloaded while later layers still download.
 */
export async function measureTsctrPull(address: string, seeded: Pick<SeededRegistry, "ref" | "bytes">, options: ImageBenchOptions = {}): Promise<ImageBenchResult> {
  return measure(address, "tspull", seeded.bytes, options, async (ns) => {
    const r = await run(tsctrBin, ["--address", address, "--namespace", ns, "images", "pull", "--plain-http", seeded.ref], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`tsctr images pull: ${r.stderr.trim()}`);
  });
}

function note(r: ImageBenchResult): string {
  return `${r.mibPerSecond.toFixed(1)} MiB/s over ${(r.bytes / (1 << 20)).toFixed(1)} MiB; median of ${r.samplesMs.length}`;
}

export const ctrImportBusybox: Benchmark = {
  id: "ctr-import-busybox",
  title: "`ctr images import` busybox (1 layer, with unpack)",
  issue: 5,
  better: "lower",
  target: "daemons",
  async run(ctx) {
    const r = await measureCtrImport(ctx.daemon!.address, await busyboxArchive(), { runs: Math.max(5, ctx.runs) });
    return { value: r.medianMs, unit: "ms", note: note(r) };
  },
};

export const ctrImportLarge: Benchmark = {
  id: "ctr-import-large",
  title: "`ctr images import` large synthetic image (9 layers, ~200 MiB unpacked)",
  issue: 5,
  better: "lower",
  target: "daemons",
  async run(ctx) {
    const r = await measureCtrImport(ctx.daemon!.address, await largeArchive(), { runs: Math.max(3, Math.min(ctx.runs, 5)) });
    return { value: r.medianMs, unit: "ms", note: note(r) };
  },
};

export const ctrPullLarge: Benchmark = {
  id: "ctr-pull-large",
  title: "`ctr images pull --plain-http` large synthetic image from a local docker-registry",
  issue: 5,
  better: "lower",
  target: "daemons",
  async run(ctx) {
    const seeded = await seedRegistry(await largeArchive());
    try {
      const r = await measureCtrPull(ctx.daemon!.address, seeded, { runs: Math.max(3, Math.min(ctx.runs, 5)) });
      return { value: r.medianMs, unit: "ms", note: note(r) };
    } finally {
      await seeded.registry.stop();
    }
  },
};

export const tsctrPullLarge: Benchmark = {
  id: "tsctr-pull-large",
  title: "`tsctr images pull --plain-http` large synthetic image (our client; unpack overlaps the download)",
  issue: 5,
  better: "lower",
  target: "daemons",
  async run(ctx) {
    const seeded = await seedRegistry(await largeArchive());
    try {
      const r = await measureTsctrPull(ctx.daemon!.address, seeded, { runs: Math.max(3, Math.min(ctx.runs, 5)) });
      return { value: r.medianMs, unit: "ms", note: note(r) };
    } finally {
      await seeded.registry.stop();
    }
  },
};

/** The image benchmarks, for the runner's list. */
export const imageBenchmarks: readonly Benchmark[] = [ctrImportBusybox, ctrImportLarge, ctrPullLarge, tsctrPullLarge];
