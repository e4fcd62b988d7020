/**
 * The client's image operations against containertsd (built) and a Debian docker-registry: push then
 * pull, platforms, import/export round trips, and the bad inputs (tampered blobs, cut streams, unknown
 * references, oversized or malformed manifests, hostile archives, interrupted pulls).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

import type { Descriptor } from "@containerts/content";
import { digestOf } from "@containerts/content";
import { isAlreadyExists, isCanceled, isFailedPrecondition, isInvalidArgument, isNotFound, kindOf } from "@containerts/errdefs";
import { buildTestImage, tarWithFile, writeTestImage } from "@containerts/images/testsuite";
import { type Context, withNamespace } from "@containerts/namespaces";
import { buildBusybox, buildSynthetic, type ImageArchive } from "@containerts/testimages";
import {
  startContainertsd,
  startProxy,
  startRegistry,
  startStaticRegistry,
  unmountUnder,
  type HttpFake,
  type TestDaemon,
  type TestRegistry,
} from "@containerts/testkit";
import { Header, Parser } from "tar";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { tarHeader, tarPadding, tarTrailer } from "../internal/tar.js";

import {
  Client,
  Registry,
  chainIds,
  defaultImportPrefix,
  defaultPlatform,
  formatPlatform,
  parseReference,
  readImageConfig,
  resolveManifest,
  type ProgressEvent,
} from "../index.js";

let daemon: TestDaemon;
let client: Client;
let registry: TestRegistry;
let scratch: string;
let busybox: ImageArchive;
let seq = 0;
const fakes: HttpFake[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "client-images-"));
  daemon = await startContainertsd();
  registry = await startRegistry();
  client = await Client.connect(daemon.address);
  busybox = await buildBusybox(join(scratch, "busybox.tar"));
});

afterEach(async () => {
  for (const f of fakes.splice(0)) await f.stop();
  unmountUnder(join(scratch, "mnt"));
});

afterAll(async () => {
  client?.close();
  await registry?.stop();
  await daemon?.cleanup();
  if (scratch !== undefined) {
    unmountUnder(scratch);
    await rm(scratch, { recursive: true, force: true });
  }
});

/** A context in a namespace of its own. */
function fresh(): Context {
  return withNamespace(client.context(), `img-${process.pid}-${++seq}`);
}

async function contentDigests(ctx: Context): Promise<string[]> {
  const out: string[] = [];
  await client.content.walk(ctx, (i) => {
    out.push(i.digest);
  });
  return out.sort();
}

async function snapshotNames(ctx: Context, snapshotter = "overlayfs"): Promise<string[]> {
  const out: string[] = [];
  await client.snapshots(snapshotter).walk(ctx, (i) => {
    out.push(i.name);
  });
  return out.sort();
}

/** Runs a collection now: a lease deleted with `sync` (what `tsctr gc` does). */
async function gc(ctx: Context): Promise<void> {
  const lease = await client.leases.create(ctx, {});
  await client.leases.delete(ctx, lease, { sync: true });
}

/** Writes a test image into the store and records it under `name`. */
async function storeTestImage(ctx: Context, name: string, image: ReturnType<typeof buildTestImage>): Promise<void> {
  // Under a lease, so that a collection running meanwhile does not take the blobs not referenced yet.
  await client.withLease(ctx, async (ctx) => {
    await writeTestImage(client.content, ctx, image);
    await client.images.create(ctx, { name, target: image.target });
  });
}

/** A one-platform OCI image whose single layer holds `bytes` random bytes (so it is big on the wire). */
function bigImage(bytes: number): { target: Descriptor; blobs: Map<string, { bytes: Uint8Array; mediaType: string }>; layer: Descriptor } {
  const random = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(random.subarray(i, Math.min(bytes, i + 65536)));
  const tar = tarWithFile("random.bin", random);
  const layerBytes = new Uint8Array(gzipSync(tar, { level: 1 }));
  const layer: Descriptor = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: digestOf(layerBytes), size: layerBytes.byteLength };
  const p = defaultPlatform();
  const configBytes = Buffer.from(JSON.stringify({ architecture: p.architecture, os: p.os, rootfs: { type: "layers", diff_ids: [digestOf(tar)] }, config: {} }));
  const config: Descriptor = { mediaType: "application/vnd.oci.image.config.v1+json", digest: digestOf(configBytes), size: configBytes.byteLength };
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [layer] }));
  const target: Descriptor = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: digestOf(manifestBytes), size: manifestBytes.byteLength };
  const blobs = new Map([
    [layer.digest, { bytes: layerBytes, mediaType: layer.mediaType }],
    [config.digest, { bytes: new Uint8Array(configBytes), mediaType: config.mediaType }],
    [target.digest, { bytes: new Uint8Array(manifestBytes), mediaType: target.mediaType }],
  ]);
  return { target, blobs, layer };
}

/** Uploads blobs and a manifest to the test registry directly (the daemon never sees them). */
async function seedRegistry(repository: string, tag: string, blobs: ReadonlyMap<string, { bytes: Uint8Array; mediaType: string }>, target: Descriptor): Promise<string> {
  const reg = new Registry(parseReference(`${registry.host}/${repository}:${tag}`));
  for (const [digest, b] of blobs) {
    if (digest === target.digest) continue;
    await reg.pushBlob({ mediaType: b.mediaType, digest, size: b.bytes.byteLength }, async function* () {
      yield b.bytes;
    });
  }
  await reg.pushManifest(tag, target, blobs.get(target.digest)!.bytes);
  return `${registry.host}/${repository}:${tag}`;
}

/** The blobs of an OCI archive and the descriptor of its (single) image. */
async function archiveBlobs(path: string): Promise<{ blobs: Map<string, { bytes: Uint8Array; mediaType: string }>; target: Descriptor }> {
  const files = await tarFiles(path);
  const index = JSON.parse(files.get("index.json")!.toString()) as { manifests: Descriptor[] };
  const m = index.manifests[0]!;
  const blobs = new Map<string, { bytes: Uint8Array; mediaType: string }>();
  for (const [p, bytes] of files) if (p.startsWith("blobs/sha256/")) blobs.set(`sha256:${p.slice(13)}`, { bytes, mediaType: "application/octet-stream" });
  blobs.get(m.digest)!.mediaType = m.mediaType;
  return { blobs, target: { mediaType: m.mediaType, digest: m.digest, size: m.size } };
}

/** Mounts `mounts` on a fresh directory under the scratch dir (unmounted in afterEach). */
async function mountOn(mounts: readonly { type: string; source: string; options: readonly string[] }[]): Promise<string> {
  const target = join(scratch, "mnt", String(++seq));
  await mkdir(target, { recursive: true });
  for (const m of mounts) {
    const opts = m.options.join(",");
    const args = m.type === "bind" ? ["-o", opts, m.source, target] : ["-t", m.type, "-o", opts, m.source, target];
    const r = spawnSync("mount", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`mount ${args.join(" ")}: ${r.stderr}`);
  }
  return target;
}

/** Writes `files` as a tar archive (regular files only, in the order given). */
async function writeTarFile(path: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
  const parts: Buffer[] = [];
  for (const [name, data] of files) {
    parts.push(tarHeader({ path: name, type: "file", mode: 0o644, size: data.byteLength }), data, tarPadding(data.byteLength));
  }
  parts.push(tarTrailer());
  await writeFile(path, Buffer.concat(parts));
}

/** The files of a tar archive, by path. */
async function tarFiles(path: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const parser = new Parser();
  parser.on("entry", (e) => {
    if (e.type !== "File") {
      e.resume();
      return;
    }
    const parts: Buffer[] = [];
    e.on("data", (c: Buffer) => parts.push(c));
    e.on("end", () => files.set(e.path, Buffer.concat(parts)));
  });
  const ended = new Promise((r) => parser.on("end", r));
  parser.end(await readFile(path));
  await ended;
  return files;
}

describe("push and pull through a docker-registry", () => {
  it("pulls what was pushed: same digests, unpacked under the chain IDs, mountable; a second push mounts across repositories", async () => {
    const a = fresh();
    const { images } = await client.importArchive(a, busybox.path);
    const local = images[0]!;
    expect(local.target.digest).toBe(busybox.manifestDigest);

    const ref = `${registry.host}/library/busybox:pushed`;
    const pushed = await client.push(a, ref, local.name);
    expect(pushed.digest).toBe(busybox.manifestDigest);

    // Without a local copy anywhere on the daemon, the pull has to download every blob.
    await client.images.delete(a, local.name, { sync: true });
    await expect(client.content.info(a, busybox.layers[0]!.digest)).rejects.toSatisfy(isNotFound);

    const b = fresh();
    const events: ProgressEvent[] = [];
    const pulled = await client.pull(b, ref, { unpack: true, onProgress: (e) => events.push(e) });
    expect(pulled.name).toBe(ref);
    expect(pulled.target).toEqual({ mediaType: local.target.mediaType, digest: local.target.digest, size: local.target.size });
    expect(events.some((e) => e.status === "downloading" && e.ref === `layer-${busybox.layers[0]!.digest}`)).toBe(true);

    // Every blob is there, labelled as containerd labels them.
    const { manifest } = await resolveManifest(client.content, b, pulled.target);
    expect(await contentDigests(b)).toEqual([pulled.target.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)].sort());
    const host = registry.host.split(":")[0]!;
    const source = `containerd.io/distribution.source.${host}`;
    const manifestInfo = await client.content.info(b, pulled.target.digest);
    expect(manifestInfo.labels).toMatchObject({
      [source]: "library/busybox",
      "containerd.io/gc.ref.content.config": manifest.config.digest,
      "containerd.io/gc.ref.content.l.0": manifest.layers[0]!.digest,
    });
    const config = await readImageConfig(client.content, b, manifest.config);
    const chain = chainIds(config.rootfs.diffIds);
    expect((await client.content.info(b, manifest.layers[0]!.digest)).labels).toMatchObject({
      [source]: "library/busybox",
      "containerd.io/uncompressed": config.rootfs.diffIds[0],
    });
    expect((await client.content.info(b, manifest.config.digest)).labels["containerd.io/gc.ref.snapshot.overlayfs"]).toBe(chain.at(-1));

    // Unpacked: committed snapshots named by the chain IDs, nothing else, and a view of the top mounts.
    expect(await snapshotNames(b)).toEqual([...chain].sort());
    for (const id of chain) expect((await client.snapshots().stat(b, id)).kind).toBe("committed");
    expect(await client.isUnpacked(b, pulled)).toBe(true);
    // A view nothing references is garbage: this one is a gc root while the test uses it.
    const mounts = await client.snapshots().view(b, "rootfs-view", chain.at(-1)!, { labels: { "containerd.io/gc.root": "test" } });
    const root = await mountOn(mounts);
    expect(existsSync(join(root, "bin/busybox"))).toBe(true);
    unmountUnder(root);
    await client.snapshots().remove(b, "rootfs-view");
    expect(await client.leases.list(b)).toEqual([]);

    // Pushing the pulled image to another repository of the same registry mounts its blobs.
    const copy = `${registry.host}/library/copy:1`;
    const pushEvents: ProgressEvent[] = [];
    await client.push(b, copy, pulled, { onProgress: (e) => pushEvents.push(e) });
    expect(pushEvents.filter((e) => e.status === "mounted").map((e) => e.ref).sort()).toEqual(
      [`config-${manifest.config.digest}`, `layer-${manifest.layers[0]!.digest}`].sort(),
    );
    const res = await fetch(`http://${registry.host}/v2/library/copy/manifests/1`, { method: "HEAD", headers: { accept: pulled.target.mediaType } });
    expect(res.headers.get("docker-content-digest")).toBe(pulled.target.digest);
  });

  it("pulls only the host's platform of an index, and every platform with allPlatforms", async () => {
    const host = defaultPlatform();
    const other = host.architecture === "amd64" ? { os: "linux", architecture: "arm64", variant: "v8" } : { os: "linux", architecture: "amd64" };
    const image = buildTestImage({ platforms: [other, host], seed: `platforms-${process.pid}` });
    const a = fresh();
    await storeTestImage(a, "multi:1", image);
    const ref = `${registry.host}/test/multi:1`;
    await client.push(a, ref, "multi:1");

    const mine = image.manifests.find((m) => m.platform.architecture === host.architecture)!;
    const theirs = image.manifests.find((m) => m !== mine)!;
    const b = fresh();
    await client.pull(b, ref, { unpack: true });
    const got = new Set(await contentDigests(b));
    for (const d of [image.target, mine.descriptor, mine.config, ...mine.layers]) expect(got.has(d.digest)).toBe(true);
    for (const d of [theirs.descriptor, theirs.config, ...theirs.layers]) expect(got.has(d.digest)).toBe(false);
    expect(await snapshotNames(b)).toEqual([...chainIds(mine.diffIds)].sort());

    const c = fresh();
    await client.pull(c, ref, { allPlatforms: true, unpack: true });
    expect(await contentDigests(c)).toEqual(image.blobs.map((x) => x.descriptor.digest).sort());
    expect(await snapshotNames(c)).toEqual([...chainIds(mine.diffIds), ...chainIds(theirs.diffIds)].sort());

    // An explicit platform picks that one.
    const d = fresh();
    await client.pull(d, ref, { platform: formatPlatform(other) });
    const only = new Set(await contentDigests(d));
    expect(only.has(theirs.config.digest)).toBe(true);
    expect(only.has(mine.config.digest)).toBe(false);
  });
});

describe("import and export", () => {
  it("exports manifest and config blobs byte-identical to the imported ones, re-importable under the same names", async () => {
    const ctx = fresh();
    const { images, unpacked } = await client.importArchive(ctx, busybox.path, { unpack: true });
    expect(images.map((i) => i.name)).toEqual([busybox.name]);
    expect(unpacked[0]!.chainId).toBe(busybox.layers[0]!.diffId);
    const out = join(scratch, `export-${seq}.tar`);
    const r = await client.exportArchive(ctx, [busybox.name], out);
    expect(r.size).toBe((await readFile(out)).byteLength);

    const original = await tarFiles(busybox.path);
    const exported = await tarFiles(out);
    for (const d of [busybox.manifestDigest, busybox.configDigest, busybox.layers[0]!.digest]) {
      const path = `blobs/sha256/${d.slice("sha256:".length)}`;
      expect(exported.get(path)?.equals(original.get(path)!)).toBe(true);
    }
    const index = JSON.parse(exported.get("index.json")!.toString()) as { manifests: Descriptor[] };
    expect(index.manifests).toEqual([
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: busybox.manifestDigest,
        size: expect.any(Number),
        annotations: expect.objectContaining({ "io.containerd.image.name": busybox.name, "org.opencontainers.image.ref.name": "latest" }),
      },
    ]);
    const dockerManifest = JSON.parse(exported.get("manifest.json")!.toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    expect(dockerManifest).toEqual([
      { Config: `blobs/sha256/${busybox.configDigest.slice(7)}`, RepoTags: ["busybox:latest"], Layers: [`blobs/sha256/${busybox.layers[0]!.digest.slice(7)}`] },
    ]);
    expect(JSON.parse(exported.get("oci-layout")!.toString())).toEqual({ imageLayoutVersion: "1.0.0" });

    const again = fresh();
    const re = await client.importArchive(again, out);
    expect(re.images.map((i) => [i.name, i.target.digest])).toEqual([[busybox.name, busybox.manifestDigest]]);

    // The OCI format leaves manifest.json out.
    const oci = join(scratch, `export-oci-${seq}.tar`);
    await client.exportArchive(ctx, [busybox.name], oci, { format: "oci" });
    expect((await tarFiles(oci)).has("manifest.json")).toBe(false);
  });

  it("imports docker save archives as Docker manifests with tar layers, and unpacks them", async () => {
    const archive = await buildBusybox(join(scratch, "busybox-docker.tar"), { format: "docker", name: "docker.io/library/busybox:docker" });
    const ctx = fresh();
    const { images, index } = await client.importArchive(ctx, archive.path, { unpack: true });
    expect(images.map((i) => i.name)).toEqual(["docker.io/library/busybox:docker"]);
    const target = images[0]!.target;
    expect(target.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    const { manifest } = await resolveManifest(client.content, ctx, target);
    expect(manifest.config.mediaType).toBe("application/vnd.docker.container.image.v1+json");
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(["application/vnd.docker.image.rootfs.diff.tar"]);
    expect(manifest.config.digest).toBe(archive.configDigest);
    // The generated index is garbage once the import's lease is gone; the manifest keeps its children.
    expect(index.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect((await client.content.info(ctx, target.digest)).labels).toMatchObject({
      "containerd.io/gc.ref.content.config": manifest.config.digest,
      "containerd.io/gc.ref.content.l.0": manifest.layers[0]!.digest,
    });
    expect(await snapshotNames(ctx)).toEqual([archive.layers[0]!.diffId]);
  });

  it("names tag-only entries with ctr's rules: import-<date> by default, the base name when given, digest images on request", async () => {
    // The busybox archive with only the OCI ref name ("latest") on its index entry.
    const files = await tarFiles(busybox.path);
    const index = JSON.parse(files.get("index.json")!.toString()) as { manifests: { annotations: Record<string, string> }[] };
    delete index.manifests[0]!.annotations["io.containerd.image.name"];
    files.set("index.json", Buffer.from(JSON.stringify(index)));
    const archive = join(scratch, `tag-only-${seq}.tar`);
    await writeTarFile(archive, files);

    const plain = fresh();
    const r1 = await client.importArchive(plain, archive);
    expect(r1.images.map((i) => i.name)).toEqual([`${defaultImportPrefix()}:latest`]);

    const based = fresh();
    const r2 = await client.importArchive(based, archive, { baseName: "example.com/bb", digests: true });
    expect(r2.images.map((i) => i.name)).toEqual(["example.com/bb:latest", `example.com/bb@${busybox.manifestDigest}`]);
    const idx = await client.images.get(based, "example.com/bb:latest");
    expect(idx.target.digest).toBe(busybox.manifestDigest);
  });
});

describe("bad inputs", () => {
  it("rejects a blob whose bytes do not match its digest, and commits nothing of it", async () => {
    const img = bigImage(64 << 10);
    const tampered = Buffer.from(img.blobs.get(img.layer.digest)!.bytes);
    const at = tampered.byteLength >> 1;
    tampered.writeUInt8(tampered.readUInt8(at) ^ 0xff, at);
    const blobs = Object.fromEntries([...img.blobs].map(([d, b]) => [d, { bytes: d === img.layer.digest ? tampered : b.bytes, mediaType: b.mediaType }]));
    const fake = await startStaticRegistry({
      repository: "bad/tampered",
      manifests: { latest: { bytes: blobs[img.target.digest]!.bytes, mediaType: img.target.mediaType, digest: img.target.digest }, [img.target.digest]: blobs[img.target.digest]! },
      blobs,
    });
    fakes.push(fake);
    const ctx = fresh();
    const err = await client.pull(ctx, `${fake.host}/bad/tampered:latest`, { unpack: true }).catch((e: unknown) => e);
    expect(isFailedPrecondition(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(new RegExp(`failed commit on ref "layer-${img.layer.digest}": unexpected commit digest sha256:[0-9a-f]{64}, expected ${img.layer.digest}`));
    await expect(client.content.info(ctx, img.layer.digest)).rejects.toSatisfy(isNotFound);
    expect((await client.content.listStatuses(ctx)).map((s) => s.ref)).toEqual([]);
    expect(await client.images.list(ctx)).toEqual([]);
    expect(await client.leases.list(ctx)).toEqual([]);
  });

  it("resumes a blob whose stream is cut mid-body, with a ranged request", async () => {
    const img = bigImage(3 << 20);
    await seedRegistry("test/big", "1", img.blobs, img.target);

    let cuts = 0;
    const proxy = await startProxy({
      target: registry.host,
      cut: (req) => (req.method === "GET" && req.path.endsWith(`/blobs/${img.layer.digest}`) && cuts++ === 0 ? 1 << 20 : undefined),
    });
    fakes.push(proxy);
    const b = fresh();
    const pulled = await client.pull(b, `${proxy.host}/test/big:1`, { unpack: true });
    expect(pulled.target.digest).toBe(img.target.digest);
    const layerGets = proxy.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/blobs/${img.layer.digest}`));
    expect(layerGets.length).toBe(2);
    expect(layerGets[0]!.range).toBeUndefined();
    expect(layerGets[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect((await client.content.info(b, img.layer.digest)).size).toBe(img.layer.size);
  });

  it("reports an unknown reference as NotFound naming it", async () => {
    const ref = `${registry.host}/does/not-exist:nope`;
    const err = await client.pull(fresh(), ref).catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    expect(String((err as Error).message)).toContain(`failed to resolve reference "${ref}"`);
  });

  it("refuses a manifest over 4 MiB and a malformed one with clear errors", async () => {
    const big = Buffer.alloc((4 << 20) + 10, 0x20);
    big.write('{"schemaVersion":2}', 0);
    const bad = Buffer.from('{"schemaVersion": 2, "config": ');
    const fake = await startStaticRegistry({
      repository: "bad/manifests",
      manifests: {
        huge: { bytes: big, mediaType: "application/vnd.oci.image.manifest.v1+json" },
        broken: { bytes: bad, mediaType: "application/vnd.oci.image.manifest.v1+json" },
      },
    });
    fakes.push(fake);
    const huge = await client.pull(fresh(), `${fake.host}/bad/manifests:huge`).catch((e: unknown) => e);
    expect(kindOf(huge)).toMatch(/FailedPrecondition|InvalidArgument/);
    expect(String((huge as Error).message)).toMatch(/4194314 bytes.*4194304/);
    const ctx = fresh();
    const broken = await client.pull(ctx, `${fake.host}/bad/manifests:broken`).catch((e: unknown) => e);
    expect(isInvalidArgument(broken)).toBe(true);
    expect(String((broken as Error).message)).toMatch(/manifest sha256:[0-9a-f]{64}: invalid JSON/);
    expect(await client.images.list(ctx)).toEqual([]);
  });

  it("refuses an archive with an entry escaping its root, and records nothing", async () => {
    const original = await readFile(busybox.path);
    const evil = Buffer.alloc(512);
    new Header({ path: "../../escape.txt", mode: 0o644, size: 4, type: "File", mtime: new Date(0) }).encode(evil, 0);
    const data = Buffer.alloc(512);
    data.write("boom");
    // The archive's entries, then the hostile one (before the end-of-archive blocks).
    const body = original.subarray(0, original.byteLength - 1024);
    const archive = join(scratch, `evil-${seq}.tar`);
    await writeFile(archive, Buffer.concat([body, evil, data, Buffer.alloc(1024)]));
    const ctx = fresh();
    const err = await client.importArchive(ctx, archive).catch((e: unknown) => e);
    expect(isInvalidArgument(err)).toBe(true);
    expect(String((err as Error).message)).toContain('archive entry "../../escape.txt": path escapes the archive root');
    expect(await client.images.list(ctx)).toEqual([]);
    expect(await client.leases.list(ctx)).toEqual([]);
  });

  it("leaves only garbage after an interrupted pull: a collection removes everything", async () => {
    const archive = await buildSynthetic(join(scratch, "synthetic.tar"), { layers: 3, bytesPerLayer: 6 << 20, filesPerLayer: 60, name: "docker.io/test/interrupt:1" });
    const seeded = await archiveBlobs(archive.path);
    await seedRegistry("test/interrupt", "1", seeded.blobs, seeded.target);

    const proxy = await startProxy({ target: registry.host, bytesPerSecond: 2 << 20 });
    fakes.push(proxy);
    const b = fresh();
    const ac = new AbortController();
    let downloaded = 0;
    const ctx = withNamespace(client.context(ac.signal), b.namespace!);
    const err = await client
      .pull(ctx, `${proxy.host}/test/interrupt:1`, {
        unpack: true,
        onProgress: (e) => {
          if (e.status === "downloading" && e.ref.startsWith("layer-")) downloaded = Math.max(downloaded, e.offset);
          if (downloaded > 1 << 20) ac.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(isCanceled(err)).toBe(true);
    expect(await client.images.list(b)).toEqual([]);
    // The temporary lease is gone; what it protected (some blobs, perhaps a snapshot) is garbage now.
    expect(await client.leases.list(b)).toEqual([]);
    expect((await contentDigests(b)).length).toBeGreaterThan(0);
    await gc(b);
    expect(await contentDigests(b)).toEqual([]);
    expect(await client.content.listStatuses(b)).toEqual([]);
    expect(await snapshotNames(b)).toEqual([]);
  });

  it("resumes, with a ranged request, the ingest an interrupted pull left under the caller's lease", async () => {
    const img = bigImage(4 << 20);
    await seedRegistry("test/resume", "1", img.blobs, img.target);
    const slow = await startProxy({ target: registry.host, bytesPerSecond: 1 << 20 });
    fakes.push(slow);
    const base = fresh();
    const lease = await client.leases.create(base, {});
    const ac = new AbortController();
    const leased = { ...withNamespace(client.context(ac.signal), base.namespace!), leaseId: lease.id };
    const first = await client
      .pull(leased, `${slow.host}/test/resume:1`, {
        onProgress: (e) => {
          if (e.status === "downloading" && e.ref === `layer-${img.layer.digest}` && e.offset >= 1 << 20) ac.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(isCanceled(first)).toBe(true);
    const left = (await client.content.listStatuses(base)).find((s) => s.ref === `layer-${img.layer.digest}`);
    expect(left?.offset).toBeGreaterThan(0);

    const fast = await startProxy({ target: registry.host });
    fakes.push(fast);
    const ctx = { ...base, leaseId: lease.id };
    const image = await client.pull(ctx, `${fast.host}/test/resume:1`);
    expect(image.target.digest).toBe(img.target.digest);
    const gets = fast.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/blobs/${img.layer.digest}`));
    expect(gets.map((r) => r.range)).toEqual([`bytes=${left!.offset}-`]);
    expect((await client.content.info(base, img.layer.digest)).size).toBe(img.layer.size);
    await client.leases.delete(base, lease);
  });

  it("treats a second import of the same archive as an update", async () => {
    const ctx = fresh();
    await client.importArchive(ctx, busybox.path);
    const again = await client.importArchive(ctx, busybox.path);
    expect(again.images.map((i) => i.name)).toEqual([busybox.name]);
    await expect(client.images.create(ctx, { name: busybox.name, target: again.images[0]!.target })).rejects.toSatisfy(isAlreadyExists);
  });
});
