import { createHash } from "node:crypto";
import { mkdtemp, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BUSYBOX_IMAGE, DEFAULT_PATH, Random, buildBusybox, buildSynthetic, familiarName, isStaticElf, listApplets, readTar, resolveSyntheticOptions, writeBusyboxRootfs } from "./index.js";

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "testimages-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** The files of an archive by path. */
async function archive(path: string): Promise<Map<string, Buffer>> {
  const m = new Map<string, Buffer>();
  for (const e of readTar(await readFile(path))) if (e.type === "file") m.set(e.path, Buffer.from(e.data!));
  return m;
}

function json<T>(b: Buffer | undefined): T {
  if (b === undefined) throw new Error("missing file");
  return JSON.parse(b.toString("utf8")) as T;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

describe("buildBusybox", () => {
  it("writes a one-layer OCI archive named like docker.io/library/busybox:latest", async () => {
    const out = join(dir, "busybox.tar");
    const info = await buildBusybox(out);
    const files = await archive(out);
    expect(json<{ imageLayoutVersion: string }>(files.get("oci-layout")).imageLayoutVersion).toBe("1.0.0");
    const index = json<{ manifests: Descriptor[] }>(files.get("index.json"));
    expect(index.manifests).toHaveLength(1);
    const desc = index.manifests[0]!;
    expect(desc.annotations).toEqual({ "io.containerd.image.name": BUSYBOX_IMAGE, "org.opencontainers.image.ref.name": "latest" });
    expect(desc.digest).toBe(info.manifestDigest);
    const blob = (d: string): Buffer | undefined => files.get(`blobs/sha256/${d.slice(7)}`);
    for (const [d, b] of files) if (d.startsWith("blobs/sha256/")) expect(sha(b)).toBe(`sha256:${d.slice(13)}`);
    const manifest = json<{ config: Descriptor; layers: Descriptor[] }>(blob(desc.digest));
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    const config = json<{ config: { Cmd: string[]; Env: string[] }; rootfs: { diff_ids: string[] }; os: string }>(blob(manifest.config.digest));
    expect(config.config.Cmd).toEqual(["sh"]);
    expect(config.config.Env).toEqual([DEFAULT_PATH]);
    expect(config.os).toBe("linux");
    const layer = gunzipSync(blob(manifest.layers[0]!.digest)!);
    expect(config.rootfs.diff_ids).toEqual([sha(layer)]);
    const entries = readTar(layer);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(byPath.get("bin/busybox")?.mode).toBe(0o755);
    expect(Buffer.from(byPath.get("bin/busybox")!.data!).equals(await readFile("/bin/busybox"))).toBe(true);
    for (const a of ["sh", "echo", "ls", "cat", "sleep"]) expect(byPath.get(`bin/${a}`)).toMatchObject({ type: "symlink", linkname: "busybox" });
    expect(entries.filter((e) => e.type === "symlink")).toHaveLength(listApplets().length);
    expect(Buffer.from(byPath.get("etc/passwd")!.data!).toString()).toMatch(/^root:x:0:0:root:\/root:\/bin\/sh$/m);
    expect(Buffer.from(byPath.get("etc/group")!.data!).toString()).toMatch(/^root:x:0:$/m);
    expect(byPath.get("tmp/")?.mode).toBe(0o1777);
  });

  it("is byte-for-byte deterministic", async () => {
    const a = await buildBusybox(join(dir, "a.tar"));
    const b = await buildBusybox(join(dir, "b.tar"));
    expect(a.manifestDigest).toBe(b.manifestDigest);
    expect((await readFile(join(dir, "a.tar"))).equals(await readFile(join(dir, "b.tar")))).toBe(true);
  });

  it("writes docker save layouts: classic and Docker 25's OCI-with-manifest.json", async () => {
    const classic = await archive((await buildBusybox(join(dir, "d.tar"), { format: "docker" })).path);
    const m = json<{ Config: string; RepoTags: string[]; Layers: string[] }[]>(classic.get("manifest.json"));
    expect(m[0]!.RepoTags).toEqual(["busybox:latest"]);
    expect(m[0]!.Layers[0]).toMatch(/^[0-9a-f]{64}\/layer\.tar$/);
    const layer = classic.get(m[0]!.Layers[0]!)!;
    expect(readTar(layer).some((e) => e.path === "bin/busybox")).toBe(true); // uncompressed, as docker save
    const config = json<{ rootfs: { diff_ids: string[] } }>(classic.get(m[0]!.Config));
    expect(config.rootfs.diff_ids).toEqual([sha(layer)]);
    expect(json<Record<string, Record<string, string>>>(classic.get("repositories"))).toEqual({ busybox: { latest: m[0]!.Layers[0]!.slice(0, 64) } });

    const oci = await archive((await buildBusybox(join(dir, "o.tar"), { format: "docker-oci" })).path);
    expect(oci.has("index.json") && oci.has("oci-layout")).toBe(true);
    const m2 = json<{ Layers: string[] }[]>(oci.get("manifest.json"));
    expect(oci.has(m2[0]!.Layers[0]!)).toBe(true);
  });

  it("names images and checks the busybox binary", async () => {
    expect(familiarName("docker.io/library/busybox:latest")).toBe("busybox:latest");
    expect(familiarName("docker.io/user/app")).toBe("user/app:latest");
    expect(familiarName("localhost:5000/x:1")).toBe("localhost:5000/x:1");
    expect(isStaticElf(await readFile("/bin/busybox"))).toBe(true);
    expect(isStaticElf(await readFile(process.execPath))).toBe(false);
    await expect(buildBusybox(join(dir, "x.tar"), { busybox: join(dir, "missing") })).rejects.toThrow(/busybox-static/);
    await expect(buildBusybox(join(dir, "x.tar"), { busybox: process.execPath })).rejects.toThrow(/not a static executable/);
  });
});

describe("buildSynthetic", () => {
  it("stacks synthetic layers with whiteouts, an opaque directory, hard links and symlinks", async () => {
    const info = await buildSynthetic(join(dir, "s.tar"), { layers: 3, filesPerLayer: 120, bytesPerLayer: 64 << 10 });
    expect(info.layers).toHaveLength(4); // busybox + 3
    const files = await archive(info.path);
    const manifest = json<{ layers: Descriptor[] }>(files.get(`blobs/sha256/${info.manifestDigest.slice(7)}`));
    const layers = manifest.layers.map((l) => readTar(gunzipSync(files.get(`blobs/sha256/${l.digest.slice(7)}`)!)));
    const first = new Map(layers[1]!.map((e) => [e.path, e]));
    const last = new Map(layers[3]!.map((e) => [e.path, e]));
    expect(first.get("synthetic/links/hard.txt")).toMatchObject({ type: "hardlink", linkname: "synthetic/links/target.txt" });
    expect(first.get("synthetic/links/rel")).toMatchObject({ type: "symlink", linkname: "target.txt" });
    expect(first.get("synthetic/links/abs")).toMatchObject({ type: "symlink", linkname: "/bin/busybox" });
    expect(layers[1]!.filter((e) => e.type === "file" && e.path.startsWith("data/l01/")).length).toBe(120);
    expect(last.has("synthetic/whiteout/.wh.gone-file.txt")).toBe(true);
    expect(last.has("synthetic/whiteout/.wh.gone-dir")).toBe(true);
    expect(last.has("synthetic/opaque/.wh..wh..opq")).toBe(true);
    expect(last.has("data/l01/d000/.wh.f00000.txt")).toBe(true);
    expect(first.has("data/l01/d000/f00000.txt")).toBe(true);
    expect(Buffer.from(last.get("synthetic/release")!.data!).toString()).toBe("layer 3\n");
    expect(layers[2]!.some((e) => e.path === "synthetic/opaque/mid-2.txt")).toBe(true);
  });

  it("is deterministic per seed", async () => {
    const o = { layers: 2, filesPerLayer: 20, bytesPerLayer: 8192, busyboxBase: false };
    const a = await buildSynthetic(join(dir, "a.tar"), o);
    const b = await buildSynthetic(join(dir, "b.tar"), o);
    const c = await buildSynthetic(join(dir, "c.tar"), { ...o, seed: "other" });
    expect(a.manifestDigest).toBe(b.manifestDigest);
    expect(c.manifestDigest).not.toBe(a.manifestDigest);
    const r1 = new Random("s");
    const r2 = new Random("s");
    expect([r1.next(), r1.next(), r1.bytes(7).toString("hex")]).toEqual([r2.next(), r2.next(), r2.bytes(7).toString("hex")]);
  });

  it("validates its options", () => {
    expect(() => resolveSyntheticOptions({ layers: 1 })).toThrow(/layers 1/);
    expect(() => resolveSyntheticOptions({ filesPerLayer: 0 })).toThrow(/filesPerLayer/);
    expect(() => resolveSyntheticOptions({ filesPerLayer: 10, bytesPerLayer: 5 })).toThrow(/bytesPerLayer/);
  });
});

describe("writeBusyboxRootfs", () => {
  it("writes the busybox tree into a directory", async () => {
    await writeBusyboxRootfs(join(dir, "root"));
    expect((await stat(join(dir, "root/bin/busybox"))).mode & 0o777).toBe(0o755);
    expect(await readlink(join(dir, "root/bin/sh"))).toBe("busybox");
    expect((await stat(join(dir, "root/tmp"))).mode & 0o7777).toBe(0o1777);
    expect(await readFile(join(dir, "root/etc/group"), "utf8")).toMatch(/^root:x:0:/);
  });
});
