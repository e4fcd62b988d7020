/**
 * Synthetic layers: many files of mixed sizes and kinds with deterministic pseudo-random content, plus
 * fixed paths that exercise whiteouts, opaque directories, hard links and symbolic links.
 *
 * Fixed paths (layer 1 is the first synthetic layer, layer N the last one; N ≥ 2):
 *
 * | path | what |
 * | --- | --- |
 * | `/synthetic/release` | `layer 1\n` in layer 1, rewritten as `layer N\n` in layer N |
 * | `/synthetic/whiteout/keep.txt` | stays |
 * | `/synthetic/whiteout/gone-file.txt` | removed in layer N (`.wh.gone-file.txt`) |
 * | `/synthetic/whiteout/gone-dir/` | a directory of three files, removed in layer N (`.wh.gone-dir`) |
 * | `/synthetic/opaque/` | five files and `sub/old.txt` in layer 1, a file per middle layer; opaque in layer N, where only `new.txt` is left |
 * | `/synthetic/links/target.txt` | a regular file, hard-linked as `/synthetic/links/hard.txt` (two links) |
 * | `/synthetic/links/rel` | symlink → `target.txt` |
 * | `/synthetic/links/abs` | symlink → `/bin/busybox` |
 * | `/data/lNN/…` | the bulk files of layer NN, with about 1 % hard links (`links/`) and 1 % symlinks (`syms/`) |
 * | `/data/l01/d000/f00000.txt` | removed again in layer N |
 */
import { createHash } from "node:crypto";
import { InvalidArgumentError } from "@containerts/errdefs";
import { LayerBuilder } from "./layer.js";

/** Options of {@link addSyntheticLayers}. */
export interface SyntheticOptions {
  /** Number of synthetic layers (≥ 2). Default 3. */
  readonly layers?: number;
  /** Regular files per layer (≥ 1). Default 200. */
  readonly filesPerLayer?: number;
  /** Approximate uncompressed bytes of bulk content per layer. Default 1 MiB. */
  readonly bytesPerLayer?: number;
  /** Seed of the content generator: the same seed gives the same bytes. Default "containerts". */
  readonly seed?: string;
}

/** Options with defaults applied. */
export interface ResolvedSyntheticOptions {
  readonly layers: number;
  readonly filesPerLayer: number;
  readonly bytesPerLayer: number;
  readonly seed: string;
}

/** Applies the defaults and checks the ranges. Throws InvalidArgumentError. */
export function resolveSyntheticOptions(o: SyntheticOptions = {}): ResolvedSyntheticOptions {
  const r = { layers: o.layers ?? 3, filesPerLayer: o.filesPerLayer ?? 200, bytesPerLayer: o.bytesPerLayer ?? 1 << 20, seed: o.seed ?? "containerts" };
  if (!Number.isInteger(r.layers) || r.layers < 2) throw new InvalidArgumentError(`layers ${r.layers}: must be an integer ≥ 2`);
  if (!Number.isInteger(r.filesPerLayer) || r.filesPerLayer < 1) {
    throw new InvalidArgumentError(`filesPerLayer ${r.filesPerLayer}: must be an integer ≥ 1`);
  }
  if (!Number.isInteger(r.bytesPerLayer) || r.bytesPerLayer < r.filesPerLayer) {
    throw new InvalidArgumentError(`bytesPerLayer ${r.bytesPerLayer}: must be an integer ≥ filesPerLayer`);
  }
  return r;
}

/** A seeded pseudo-random generator (xoshiro128**), seeded through SHA-256 of a string. */
export class Random {
  readonly #s = new Uint32Array(4);

  constructor(seed: string) {
    const h = createHash("sha256").update(seed).digest();
    for (let i = 0; i < 4; i++) this.#s[i] = h.readUInt32LE(i * 4);
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** The next 32-bit unsigned integer. */
  next(): number {
    const s = this.#s;
    let s0 = s[0] ?? 0;
    let s1 = s[1] ?? 0;
    let s2 = s[2] ?? 0;
    let s3 = s[3] ?? 0;
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3 >>> 0, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / 2 ** 32;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** `n` pseudo-random bytes. */
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) out.writeUInt32LE(this.next(), i);
    if (i < n) {
      const last = this.next();
      for (let k = 0; i < n; i++, k++) out[i] = (last >>> (8 * k)) & 0xff;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu container image layer snapshot content digest manifest index runtime shim task process mount overlay".split(" ");

function textContent(rng: Random, size: number): Buffer {
  const parts: string[] = [];
  let len = 0;
  while (len < size) {
    const line: string[] = [];
    const n = 4 + rng.below(10);
    for (let i = 0; i < n; i++) line.push(WORDS[Math.min(WORDS.length - 1, Math.floor(WORDS.length * rng.float() ** 2))]!);
    const s = `${line.join(" ")}\n`;
    parts.push(s);
    len += s.length;
  }
  return Buffer.from(parts.join("")).subarray(0, size);
}

function recordContent(rng: Random, size: number): Buffer {
  const parts: string[] = [];
  let len = 0;
  for (let n = 0; len < size; n++) {
    const s = `rec=${String(n).padStart(8, "0")} key=${rng.below(65536).toString(16).padStart(4, "0")} val=${rng.below(1_000_000)}\n`;
    parts.push(s);
    len += s.length;
  }
  return Buffer.from(parts.join("")).subarray(0, size);
}

/** Adds the fixed paths of synthetic layer `i` (1-based) of `n`. */
function addFixedPaths(layer: LayerBuilder, i: number, n: number): void {
  if (i === 1) {
    layer.file("synthetic/release", "layer 1\n");
    layer.file("synthetic/whiteout/keep.txt", "keep\n");
    layer.file("synthetic/whiteout/gone-file.txt", "gone\n");
    for (const name of ["a", "b", "c"]) layer.file(`synthetic/whiteout/gone-dir/${name}.txt`, `gone ${name}\n`);
    for (let k = 0; k < 5; k++) layer.file(`synthetic/opaque/old-${k}.txt`, `old ${k}\n`);
    layer.file("synthetic/opaque/sub/old.txt", "old sub\n");
    layer.file("synthetic/links/target.txt", "hard link target\n");
    layer.hardlink("synthetic/links/hard.txt", "synthetic/links/target.txt");
    layer.symlink("synthetic/links/rel", "target.txt");
    layer.symlink("synthetic/links/abs", "/bin/busybox");
  } else if (i < n) {
    layer.file(`synthetic/opaque/mid-${i}.txt`, `added in layer ${i}\n`);
  } else {
    layer.file("synthetic/release", `layer ${i}\n`);
    layer.whiteout("synthetic/whiteout/gone-file.txt");
    layer.whiteout("synthetic/whiteout/gone-dir");
    layer.opaque("synthetic/opaque");
    layer.file("synthetic/opaque/new.txt", `new in layer ${i}\n`);
    layer.whiteout("data/l01/d000/f00000.txt");
  }
}

/** Adds the bulk content of synthetic layer `i` (1-based). */
function addBulk(layer: LayerBuilder, i: number, o: ResolvedSyntheticOptions): void {
  const rng = new Random(`${o.seed}:layer:${i}`);
  const base = `data/l${String(i).padStart(2, "0")}`;
  // Log-uniform sizes (32 B to 64 KiB) scaled to the byte budget.
  const raw = Array.from({ length: o.filesPerLayer }, () => 32 * 2048 ** rng.float());
  const scale = o.bytesPerLayer / raw.reduce((a, b) => a + b, 0);
  const regular: string[] = [];
  for (let k = 0; k < o.filesPerLayer; k++) {
    const size = Math.max(1, Math.floor(raw[k]! * scale));
    const r = k === 0 ? 0 : rng.float(); // f00000 is always text: layer N whiteouts it in layer 1
    const [kind, ext] = r < 0.55 ? (["text", "txt"] as const) : r < 0.85 ? (["bin", "bin"] as const) : (["rec", "dat"] as const);
    const path = `${base}/d${String(Math.floor(k / 50)).padStart(3, "0")}/f${String(k).padStart(5, "0")}.${ext}`;
    const data = kind === "text" ? textContent(rng, size) : kind === "bin" ? rng.bytes(size) : recordContent(rng, size);
    layer.file(path, data, kind === "bin" && rng.float() < 0.3 ? 0o755 : 0o644);
    regular.push(path);
  }
  const links = Math.max(1, Math.floor(o.filesPerLayer / 100));
  for (let k = 0; k < links; k++) {
    layer.hardlink(`${base}/links/hard${String(k).padStart(4, "0")}`, regular[rng.below(regular.length)]!);
  }
  for (let k = 0; k < links; k++) {
    const target = k % 3 === 0 ? "/bin/busybox" : k % 3 === 1 ? `../d000/${regular[0]!.split("/").pop()!}` : "/data/l01/missing";
    layer.symlink(`${base}/syms/sym${String(k).padStart(4, "0")}`, target);
  }
}

/** Builds synthetic layer `i` (1-based) of `o.layers`. */
export function syntheticLayer(i: number, o: ResolvedSyntheticOptions): LayerBuilder {
  const layer = new LayerBuilder();
  addFixedPaths(layer, i, o.layers);
  addBulk(layer, i, o);
  return layer;
}
