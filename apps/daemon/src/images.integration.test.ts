/**
 * Images end to end: containertsd (built) holding a two-platform OCI image whose blobs were written with
 * the stock containerd 1.6 `ctr content ingest`, its record created through `ProxyImageStore`, then
 * listed, checked, labelled, tagged and removed with `ctr`, its events seen by `ctr events`, and bad
 * inputs answered with containerd's codes.
 *
 * The same cases run against the stock containerd 1.6 as well, so every expectation here is containerd's
 * own behaviour, not only ours.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { ImagesClient } from "@containerts/api/services/images/v1";
import { kindOf } from "@containerts/errdefs";
import { childrenGcLabels, formatPlatform } from "@containerts/images";
import { ProxyImageStore } from "@containerts/images/proxy";
import { buildTestImage, type TestImage } from "@containerts/images/testsuite";
import { background, withNamespace } from "@containerts/namespaces";
import { ctr, startContainerd, startContainertsd, type StartOptions, type TestDaemon } from "@containerts/testkit";

/** ctr's size column (`progress.Bytes`: powers of 1024, one decimal). */
function ctrBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = n;
  let i = 0;
  while (size >= 1024 && i < units.length - 1) {
    size /= 1024;
    i++;
  }
  return `${size.toFixed(1)} ${units[i]}`;
}

function grpcCall<Res>(fn: (md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => void, namespace?: string): Promise<Res> {
  const md = new Metadata();
  if (namespace !== undefined) md.set("containerd-namespace", namespace);
  return new Promise((resolve, reject) => fn(md, (e, r) => (e ? reject(e) : resolve(r))));
}

/** The platform the daemon's host runs, as ctr formats it (`platforms.Default()` picks it for sizes). */
const hostArch = process.arch === "arm64" ? "arm64" : "amd64";

const daemons: [string, (opts: StartOptions) => Promise<TestDaemon>][] = [
  ["containertsd", startContainertsd],
  ["containerd 1.6 (reference)", startContainerd],
];

describe.each(daemons)("images through %s and the stock ctr", (_daemon, start) => {
  let d: TestDaemon;
  let store: ProxyImageStore;
  let image: TestImage;
  const ctx = withNamespace(background(), "default");
  const name = "docker.io/library/cts-test:1";

  /** Ingests every blob of `img` with `ctr content ingest`, then labels parents with their gc references. */
  async function ingest(img: TestImage, namespace = "default"): Promise<void> {
    for (const blob of img.blobs) {
      const r = await ctr(
        d,
        ["content", "ingest", "--expected-size", String(blob.bytes.byteLength), "--expected-digest", blob.descriptor.digest, `test-${blob.descriptor.digest}`],
        { namespace, input: Buffer.from(blob.bytes) },
      );
      expect(r, r.stderr).toMatchObject({ code: 0 });
    }
    const parents: [string, Parameters<typeof childrenGcLabels>[0]][] = [
      [img.target.digest, img.manifests.map((m) => m.descriptor)],
      ...img.manifests.map((m) => [m.descriptor.digest, [m.config, ...m.layers]] as [string, Parameters<typeof childrenGcLabels>[0]]),
    ];
    for (const [digest, children] of parents) {
      const labels = Object.entries(childrenGcLabels(children)).map(([k, v]) => `${k}=${v}`);
      const r = await ctr(d, ["content", "label", digest, ...labels], { namespace });
      expect(r, r.stderr).toMatchObject({ code: 0 });
    }
  }

  beforeAll(async () => {
    // No collection before the image exists: blobs written by `ctr content ingest` have no lease, so the
    // scheduler's startup collection (100 ms after start by default) could take them, as in containerd.
    d = await start({ config: '[plugins."io.containerd.gc.v1.scheduler"]\n  startup_delay = "10m"\n' });
    store = new ProxyImageStore({ address: `unix://${d.address}`, credentials: credentials.createInsecure(), options: {} });
    image = buildTestImage({ platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64", variant: "v8" }] });
    await ingest(image);
    await store.create(ctx, { name, target: image.target, labels: { "org.example/owner": "tests" } });
  });

  afterAll(async () => {
    store?.close();
    await d?.cleanup();
  });

  it("lists the image like ctr images ls, with size, platforms and labels", async () => {
    const r = await ctr(d, ["images", "ls"]);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^REF\s+TYPE\s+DIGEST\s+SIZE\s+PLATFORMS\s+LABELS\s*$/);
    const m = image.manifests.find((x) => x.platform.architecture === hostArch)!;
    const size = image.target.size + m.descriptor.size + m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
    const platforms = image.manifests.map((x) => formatPlatform(x.platform)).sort().join(",");
    const row = lines.find((l) => l.startsWith(`${name} `));
    expect(row?.split(/\s{1,}/).filter(Boolean)).toEqual([
      name,
      "application/vnd.oci.image.index.v1+json",
      image.target.digest,
      ...ctrBytes(size).split(" "),
      platforms,
      "org.example/owner=tests",
    ]);
    const q = await ctr(d, ["images", "ls", "-q"]);
    expect(q.stdout).toBe(`${name}\n`);
  });

  it("filters ctr images ls", async () => {
    expect((await ctr(d, ["images", "ls", "-q", `name==${name}`])).stdout).toBe(`${name}\n`);
    expect((await ctr(d, ["images", "ls", "-q", "name==other"])).stdout).toBe("");
    expect((await ctr(d, ["images", "ls", "-q", `target.digest==${image.target.digest}`])).stdout).toBe(`${name}\n`);
    expect((await ctr(d, ["images", "ls", "-q", 'labels."org.example/owner"==tests'])).stdout).toBe(`${name}\n`);
    const bad = await ctr(d, ["images", "ls", "name=="]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/failed to list images: filters: parse error/);
  });

  it("checks the image's blobs like ctr images check", async () => {
    const r = await ctr(d, ["images", "check"]);
    const m = image.manifests.find((x) => x.platform.architecture === hostArch)!;
    const required = m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^REF\s+TYPE\s+DIGEST\s+STATUS\s+SIZE\s+UNPACKED\s*$/);
    const row = lines.find((l) => l.startsWith(`${name} `));
    expect(row).toContain(`complete (3/3) ${ctrBytes(required)}/${ctrBytes(required)} `);
    expect(row).toMatch(/\sfalse\s*$/);
    expect(r, r.stderr).toMatchObject({ code: 0 });
  });

  it("sets, shows and clears labels with ctr images label", async () => {
    let r = await ctr(d, ["images", "label", name, "stage=qa"]);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(r.stdout.trim().split(",").sort()).toEqual(["org.example/owner=tests", "stage=qa"]);
    expect((await store.get(ctx, name)).labels).toEqual({ "org.example/owner": "tests", stage: "qa" });
    r = await ctr(d, ["images", "ls"]);
    expect(r.stdout).toMatch(/org\.example\/owner=tests,stage=qa\s*$/m);
    r = await ctr(d, ["images", "label", name, "stage="]);
    expect(r.stdout.trim()).toBe("org.example/owner=tests");
    r = await ctr(d, ["images", "label", "--replace-all", name, "only=this"]);
    expect(r.stdout.trim()).toBe("only=this");
    const got = await store.get(ctx, name);
    expect(got.labels).toEqual({ only: "this" });
    expect(got.updatedAt.getTime()).toBeGreaterThan(got.createdAt.getTime() - 1);
    const missing = await ctr(d, ["images", "label", "nope:1", "a=b"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/image "nope:1": not found/);
  });

  it("tags images with ctr images tag, --force replacing an existing name", async () => {
    const tagged = "docker.io/library/cts-test:tagged";
    let r = await ctr(d, ["images", "tag", name, tagged]);
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: `${tagged}\n` });
    const got = await store.get(ctx, tagged);
    expect(got.target).toEqual(image.target);
    expect(got.labels).toEqual((await store.get(ctx, name)).labels);
    r = await ctr(d, ["images", "tag", name, tagged]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/image "docker.io\/library\/cts-test:tagged": already exists/);
    r = await ctr(d, ["images", "tag", "--force", name, tagged]);
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: `${tagged}\n` });
    r = await ctr(d, ["images", "tag", "missing:1", tagged]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/image "missing:1": not found/);
    await store.delete(ctx, tagged);
  });

  it("publishes image events that ctr events shows", async () => {
    const child: ChildProcess = spawn("ctr", ["--address", d.address, "events"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (s: string) => (out += s));
    try {
      // ctr subscribes asynchronously: create and delete until both events have shown up.
      const deadline = Date.now() + 20_000;
      let n = 0;
      while (!(/\/images\/create .*\n/.test(out) && /\/images\/delete .*\n/.test(out)) && Date.now() < deadline) {
        await store.create(ctx, { name: `events-${n}`, target: image.target, labels: { e: "1" } });
        await store.delete(ctx, `events-${n++}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(out).toMatch(/ default \/images\/create \{"name":"events-\d+","labels":\{"e":"1"\}\}/);
      expect(out).toMatch(/ default \/images\/delete \{"name":"events-\d+"\}/);
    } finally {
      const exited = new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once("exit", r)));
      child.kill("SIGTERM");
      await exited;
    }
  });

  it("removes images with ctr images rm, and --sync collects their blobs", async () => {
    const copy = "docker.io/library/cts-test:copy";
    await store.create(ctx, { name: copy, target: image.target });
    let r = await ctr(d, ["images", "rm", copy]);
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: `${copy}\n` });
    r = await ctr(d, ["images", "rm", copy]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/image not found/);
    // The image still holds every blob of the host platform and of the other platform.
    const digests = image.blobs.map((b) => b.descriptor.digest);
    let ls = await ctr(d, ["content", "ls", "-q"]);
    expect(ls.stdout.split("\n").filter((l) => digests.includes(l)).sort()).toEqual([...digests].sort());
    r = await ctr(d, ["images", "rm", "--sync", name]);
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: `${name}\n` });
    ls = await ctr(d, ["content", "ls", "-q"]);
    expect(ls.stdout.split("\n").filter((l) => digests.includes(l))).toEqual([]);
    expect((await ctr(d, ["images", "ls", "-q"])).stdout).toBe("");
  });

  it("answers bad input with containerd's codes and messages", async () => {
    const c = new ImagesClient(`unix://${d.address}`, credentials.createInsecure());
    try {
      const target = { mediaType: "application/vnd.oci.image.index.v1+json", digest: image.target.digest, size: BigInt(image.target.size), annotations: {} };
      const noName = await grpcCall((md, cb) => c.create({ image: { name: "", labels: {}, target, createdAt: undefined, updatedAt: undefined } }, md, cb), "default").catch((e: ServiceError) => e);
      expect(noName).toMatchObject({ code: status.INVALID_ARGUMENT, details: "Image.Name required" });
      const noTarget = await grpcCall((md, cb) => c.create({ image: { name: "x", labels: {}, target: undefined, createdAt: undefined, updatedAt: undefined } }, md, cb), "default").catch((e: ServiceError) => e);
      expect(noTarget).toMatchObject({ code: status.INVALID_ARGUMENT });
      expect((noTarget as ServiceError).details).toMatch(/^Target\.Digest "" invalid: /);
      const zero = await grpcCall((md, cb) => c.create({ image: { name: "x", labels: {}, target: { ...target, size: 0n }, createdAt: undefined, updatedAt: undefined } }, md, cb), "default").catch((e: ServiceError) => e);
      expect(zero).toMatchObject({ code: status.INVALID_ARGUMENT, details: "Target.Size must be greater than zero: invalid argument" });
      const noNs = await grpcCall((md, cb) => c.list({ filters: [] }, md, cb)).catch((e: ServiceError) => e);
      expect(noNs).toMatchObject({ code: status.FAILED_PRECONDITION, details: "namespace is required: failed precondition" });
      const badPath = await grpcCall((md, cb) => c.update({ image: { name: "x", labels: {}, target: undefined, createdAt: undefined, updatedAt: undefined }, updateMask: ["name"] }, md, cb), "default").catch((e: ServiceError) => e);
      expect(badPath).toMatchObject({ code: status.NOT_FOUND });
    } finally {
      c.close();
    }
    await store.create(ctx, { name: "dup", target: image.target });
    await expect(store.create(ctx, { name: "dup", target: image.target })).rejects.toSatisfy((e) => kindOf(e) === "AlreadyExists");
    await expect(store.update(ctx, { name: "dup" }, ["created_at"])).rejects.toThrow('cannot update "created_at" field on image "dup": invalid argument');
    await expect(store.get(ctx, "absent")).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
    await store.delete(ctx, "dup");
    const rm = await ctr(d, ["images", "rm", "absent"]);
    expect(rm.stderr).toMatch(/absent: image not found/);
  });
});
