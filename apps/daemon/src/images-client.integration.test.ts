/**
 * Image transfer end to end, across implementations:
 *
 * - the stock containerd 1.6 `ctr` against containertsd: `images import` (with its unpack), `ls`,
 *   `export` (re-importable, blobs unchanged), `tag`, `push --plain-http` and `pull --plain-http` through
 *   a Debian docker-registry, `rm --sync`;
 * - our `tsctr` against the stock containerd 1.6: `images import` and `images pull --plain-http`, whose
 *   results containerd's own `ctr images check` accepts, `push`, `content fetch`, and the tables of
 *   `images ls` / `images check` printed exactly as ctr prints them.
 *
 * Test images are built offline by `containerts-testimages` (a busybox OCI archive and its Docker form).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ctr,
  repoRoot,
  run,
  startContainerd,
  startContainertsd,
  startRegistry,
  tsctr,
  unmountUnder,
  type RunResult,
  type TestDaemon,
  type TestRegistry,
} from "@containerts/testkit";

interface ArchiveInfo {
  readonly path: string;
  readonly name: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layers: readonly { digest: string; diffId: string }[];
}

const testimages = join(repoRoot, "tools/testimages/bin/containerts-testimages");

async function buildArchive(args: readonly string[]): Promise<ArchiveInfo> {
  const r = await run(process.execPath, [testimages, ...args]);
  if (r.code !== 0) throw new Error(`containerts-testimages ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as ArchiveInfo;
}

function ok(r: RunResult, what: string): string {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

let scratch: string;
let busybox: ArchiveInfo;
let dockerArchive: ArchiveInfo;
let registry: TestRegistry;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "images-client-"));
  busybox = await buildArchive(["busybox", "-o", join(scratch, "busybox.tar")]);
  dockerArchive = await buildArchive(["busybox", "-o", join(scratch, "busybox-docker.tar"), "--format", "docker", "--name", "docker.io/library/busybox:docker"]);
  registry = await startRegistry();
});

afterAll(async () => {
  await registry?.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe("the stock ctr against containertsd", () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startContainertsd();
  });
  afterAll(async () => {
    await d?.cleanup();
  });

  it("registers the services image transfer needs", async () => {
    const out = ok(await ctr(d, ["plugins", "ls"]), "ctr plugins ls");
    const missing = ["content", "leases", "snapshots", "diff", "images", "namespaces"].filter(
      (id) => !new RegExp(`^io\\.containerd\\.grpc\\.v1\\s+${id}\\s+.*\\sok\\s*$`, "m").test(out),
    );
    expect(missing, `gRPC services not registered by containertsd:\n${out}`).toEqual([]);
    expect(out).toMatch(/^io\.containerd\.snapshotter\.v1\s+overlayfs\s+.*\sok\s*$/m);
  });

  it("imports (and unpacks), lists, exports a re-importable archive, and removes", async () => {
    const out = ok(await ctr(d, ["images", "import", busybox.path], { namespace: "imp" }), "ctr images import");
    expect(out).toContain(`unpacking ${busybox.name} (${busybox.manifestDigest})...done`);
    const ls = ok(await ctr(d, ["images", "ls"], { namespace: "imp" }), "ctr images ls");
    expect(ls).toMatch(new RegExp(`^${busybox.name.replace(/[.]/g, "\\.")}\\s+application/vnd\\.oci\\.image\\.manifest\\.v1\\+json\\s+${busybox.manifestDigest}\\s+\\S+ \\S+\\s+linux/`, "m"));
    const check = ok(await ctr(d, ["images", "check"], { namespace: "imp" }), "ctr images check");
    expect(check).toMatch(/complete \(2\/2\)\s+\S+ \S+\/\S+ \S+\s+true/);
    expect(ok(await ctr(d, ["snapshots", "ls"], { namespace: "imp" }), "ctr snapshots ls")).toContain(busybox.layers[0]!.diffId);

    const exported = join(scratch, "ctr-export.tar");
    ok(await ctr(d, ["images", "export", exported, busybox.name], { namespace: "imp" }), "ctr images export");
    const again = ok(await ctr(d, ["images", "import", exported], { namespace: "reimp" }), "ctr images import (re-import)");
    expect(again).toContain(`unpacking ${busybox.name} (${busybox.manifestDigest})...done`);
    const blob = (ns: string, digest: string) => ctr(d, ["content", "get", digest], { namespace: ns });
    expect((await blob("reimp", busybox.configDigest)).stdout).toBe((await blob("imp", busybox.configDigest)).stdout);

    expect(ok(await ctr(d, ["images", "rm", "--sync", busybox.name], { namespace: "reimp" }), "ctr images rm")).toBe(`${busybox.name}\n`);
    expect(ok(await ctr(d, ["images", "ls", "-q"], { namespace: "reimp" }), "ctr images ls -q")).toBe("");
    expect(ok(await ctr(d, ["content", "ls", "-q"], { namespace: "reimp" }), "ctr content ls -q")).toBe("");
  });

  it("pushes to and pulls from a docker-registry with --plain-http", async () => {
    ok(await ctr(d, ["images", "import", busybox.path], { namespace: "push" }), "ctr images import");
    const ref = `${registry.host}/ctr/busybox:1`;
    ok(await ctr(d, ["images", "tag", busybox.name, ref], { namespace: "push" }), "ctr images tag");
    ok(await ctr(d, ["images", "push", "--plain-http", ref], { namespace: "push" }), "ctr images push");
    const head = await fetch(`http://${registry.host}/v2/ctr/busybox/manifests/1`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    expect(head.headers.get("docker-content-digest")).toBe(busybox.manifestDigest);

    const out = ok(await ctr(d, ["images", "pull", "--plain-http", ref], { namespace: "pull" }), "ctr images pull");
    expect(out).toContain(`unpacking linux/`);
    const check = ok(await ctr(d, ["images", "check", `name==${ref}`], { namespace: "pull" }), "ctr images check");
    expect(check).toMatch(/complete \(2\/2\).*true\s*$/m);
    ok(await ctr(d, ["images", "rm", "--sync", ref], { namespace: "pull" }), "ctr images rm");
  });
});

describe("tsctr against the stock containerd 1.6", () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startContainerd();
  });
  afterAll(async () => {
    await d?.cleanup();
  });

  it("imports (and unpacks) an OCI archive that containerd then reports complete and unpacked", async () => {
    const out = ok(await tsctr(d, ["images", "import", busybox.path], { namespace: "ts-imp" }), "tsctr images import");
    expect(out).toBe(`unpacking ${busybox.name} (${busybox.manifestDigest})...done\n`);
    const check = ok(await ctr(d, ["images", "check"], { namespace: "ts-imp" }), "ctr images check");
    expect(check).toMatch(new RegExp(`^${busybox.name.replace(/[.]/g, "\\.")}\\s.*complete \\(2/2\\).*true\\s*$`, "m"));
    // The tables are ctr's, byte for byte.
    expect(ok(await tsctr(d, ["images", "ls"], { namespace: "ts-imp" }), "tsctr images ls")).toBe(ok(await ctr(d, ["images", "ls"], { namespace: "ts-imp" }), "ctr images ls"));
    expect(ok(await tsctr(d, ["images", "check"], { namespace: "ts-imp" }), "tsctr images check")).toBe(check);
  });

  it("imports a docker save archive into the same manifest containerd's importer creates", async () => {
    ok(await tsctr(d, ["images", "import", "--no-unpack", dockerArchive.path], { namespace: "ts-docker" }), "tsctr images import");
    ok(await ctr(d, ["images", "import", "--no-unpack", dockerArchive.path], { namespace: "ctr-docker" }), "ctr images import");
    const ours = ok(await ctr(d, ["images", "ls"], { namespace: "ts-docker" }), "ctr images ls");
    const theirs = ok(await ctr(d, ["images", "ls"], { namespace: "ctr-docker" }), "ctr images ls");
    expect(ours).toContain("application/vnd.docker.distribution.manifest.v2+json");
    expect(ours).toBe(theirs);
  });

  it("pulls with --plain-http (unpacked, as containerd's check says), pushes, and fetches content", async () => {
    // Seed the registry with containerd's own ctr.
    ok(await ctr(d, ["images", "import", busybox.path], { namespace: "seed" }), "ctr images import");
    const ref = `${registry.host}/ts/busybox:1`;
    ok(await ctr(d, ["images", "tag", busybox.name, ref], { namespace: "seed" }), "ctr images tag");
    ok(await ctr(d, ["images", "push", "--plain-http", ref], { namespace: "seed" }), "ctr images push");

    const out = ok(await tsctr(d, ["images", "pull", "--plain-http", ref], { namespace: "ts-pull" }), "tsctr images pull");
    expect(out).toMatch(new RegExp(`^unpacking linux/\\S+ ${busybox.manifestDigest}\\.\\.\\.\\ndone: \\S+\\t\\n$`));
    const check = ok(await ctr(d, ["images", "check", `name==${ref}`], { namespace: "ts-pull" }), "ctr images check");
    expect(check).toMatch(/complete \(2\/2\).*true\s*$/m);
    const info = ok(await ctr(d, ["content", "ls"], { namespace: "ts-pull" }), "ctr content ls");
    expect(info).toContain(`containerd.io/distribution.source.127.0.0.1=ts/busybox`);

    const copy = `${registry.host}/ts/copy:2`;
    ok(await tsctr(d, ["images", "push", "--plain-http", copy, ref], { namespace: "ts-pull" }), "tsctr images push");
    const head = await fetch(`http://${registry.host}/v2/ts/copy/manifests/2`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    expect(head.headers.get("docker-content-digest")).toBe(busybox.manifestDigest);

    ok(await tsctr(d, ["content", "fetch", "--plain-http", copy], { namespace: "ts-fetch" }), "tsctr content fetch");
    const fetched = ok(await ctr(d, ["images", "check"], { namespace: "ts-fetch" }), "ctr images check");
    expect(fetched).toMatch(/complete \(2\/2\).*false\s*$/m);

    const exported = join(scratch, "tsctr-export.tar");
    ok(await tsctr(d, ["images", "export", exported, ref], { namespace: "ts-pull" }), "tsctr images export");
    const back = ok(await ctr(d, ["images", "import", exported], { namespace: "ts-reimport" }), "ctr images import (tsctr export)");
    expect(back).toContain(`unpacking ${ref} (${busybox.manifestDigest})...done`);
    expect((await readFile(exported)).byteLength).toBeGreaterThan(0);
  });

  it("reports an unknown reference with the reference named", async () => {
    const ref = `${registry.host}/ts/nope:1`;
    const r = await tsctr(d, ["images", "pull", "--plain-http", ref], { namespace: "ts-nope" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`ctr: failed to resolve reference "${ref}"`);
    expect(r.stderr).toContain("not found");
  });

  it("mounts and unmounts an image", async () => {
    ok(await tsctr(d, ["images", "import", "--no-unpack", busybox.path], { namespace: "ts-mount" }), "tsctr images import");
    const target = join(scratch, "mnt");
    await run("mkdir", ["-p", target]);
    try {
      const out = ok(await tsctr(d, ["images", "mount", busybox.name, target], { namespace: "ts-mount" }), "tsctr images mount");
      expect(out).toBe(`${busybox.layers[0]!.diffId}\n${target}\n`);
      expect((await run("test", ["-x", join(target, "bin/busybox")])).code).toBe(0);
      expect(ok(await tsctr(d, ["images", "unmount", "--rm", target], { namespace: "ts-mount" }), "tsctr images unmount")).toBe(`${target}\n`);
      expect(ok(await ctr(d, ["leases", "ls", "-q"], { namespace: "ts-mount" }), "ctr leases ls")).toBe("");
    } finally {
      unmountUnder(target);
    }
  });
});
