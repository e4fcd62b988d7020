/**
 * The Diff service end to end: the stock containerd 1.6 `ctr` imports a synthetic two-layer OCI image
 * into the built containertsd (its client-side unpack calls Snapshots.Prepare, Diff.Apply — checking
 * every applied digest against the image's diff IDs — and Snapshots.Commit on overlayfs), the unpacked
 * view shows the layers with the whiteout applied, and `ctr snapshots diff` (Diff.Diff, content reads)
 * gives the same layer content as containerd 1.6 does for the same image.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ctr, mountsUnder, run, startContainerd, startContainertsd, unmountUnder, type TestDaemon } from "@containerts/testkit";

let work = "";
let image = "";
let topChain = "";
const daemons: TestDaemon[] = [];

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function sh(cmd: string): string {
  const r = spawnSync("sh", ["-c", cmd], { encoding: "buffer" });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** Builds an OCI image archive with two gzip layers (the second deletes a file of the first). */
function buildImage(dir: string): { archive: string; chainIds: string[] } {
  const l1 = join(dir, "l1");
  const l2 = join(dir, "l2");
  const layout = join(dir, "layout");
  mkdirSync(join(l1, "etc"), { recursive: true });
  mkdirSync(join(l1, "bin"), { recursive: true });
  mkdirSync(join(l2, "etc"), { recursive: true });
  mkdirSync(join(layout, "blobs/sha256"), { recursive: true });
  writeFileSync(join(l1, "etc/motd"), "hello\n");
  writeFileSync(join(l1, "etc/gone"), "gone\n");
  writeFileSync(join(l1, "bin/tool"), "#!/bin/sh\n");
  chmodSync(join(l1, "bin/tool"), 0o4755);
  symlinkSync("motd", join(l1, "etc/link"));
  writeFileSync(join(l2, "etc/new"), "new\n");
  writeFileSync(join(l2, "etc/.wh.gone"), "");
  const put = (b: Buffer) => {
    const d = sha(b);
    writeFileSync(join(layout, "blobs/sha256", d), b);
    return d;
  };
  const layers = [l1, l2].map((l) => {
    const raw = Buffer.from(sh(`tar --numeric-owner --sort=name -C ${l} -cf - . | base64 -w0`), "base64");
    const gz = Buffer.from(sh(`tar --numeric-owner --sort=name -C ${l} -cf - . | gzip -n | base64 -w0`), "base64");
    return { raw, gz };
  });
  const diffIds = layers.map((x) => `sha256:${sha(x.raw)}`);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: diffIds } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${put(config)}`, size: config.byteLength },
      layers: layers.map((x) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${put(x.gz)}`, size: x.gz.byteLength })),
    }),
  );
  const md = put(manifest);
  writeFileSync(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${md}`, size: manifest.byteLength, annotations: { "io.containerd.image.name": "docker.io/library/difftest:1" } }],
    }),
  );
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const archive = join(dir, "image.tar");
  sh(`tar -C ${layout} -cf ${archive} .`);
  const chain1 = diffIds[0] as string;
  const chain2 = `sha256:${sha(Buffer.from(`${chain1} ${diffIds[1]}`))}`;
  return { archive, chainIds: [chain1, chain2] };
}

async function ok(d: TestDaemon, args: string[]): Promise<string> {
  const r = await ctr(d, args);
  if (r.code !== 0) throw new Error(`ctr ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}\n${d.logs().slice(-3000)}`);
  return r.stdout;
}

/** `ctr snapshots diff …` written to a file (binary stdout), listed with tar. */
async function diffListing(d: TestDaemon, args: string[], out: string): Promise<string[]> {
  const r = await run("sh", ["-c", `ctr --address ${d.address} --namespace default snapshots diff ${args.join(" ")} > ${out}`]);
  if (r.code !== 0) throw new Error(`snapshots diff: ${r.stderr}\n${d.logs().slice(-3000)}`);
  const gz = readFileSync(out).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]));
  return sh(`tar -t${gz ? "z" : ""}f ${out}`).split("\n").filter((l) => l !== "").sort();
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "diff-e2e-"));
  const built = buildImage(work);
  image = built.archive;
  topChain = built.chainIds[1] as string;
});

afterAll(async () => {
  for (const d of daemons.splice(0)) await d.cleanup();
  unmountUnder(work);
  expect(mountsUnder(work)).toEqual([]);
  rmSync(work, { recursive: true, force: true });
});

describe("diff service against the stock ctr", () => {
  it("unpacks an image through Diff.Apply and diffs snapshots like containerd 1.6", async () => {
    const ts = await startContainertsd();
    daemons.push(ts);
    expect(await ok(ts, ["images", "import", image])).toMatch(/unpacking docker.io\/library\/difftest:1 .*done/);
    const ls = await ok(ts, ["snapshots", "ls"]);
    expect(ls).toContain(topChain);

    // The unpacked top snapshot, viewed and mounted as ctr prints it.
    const mnt = join(work, "mnt");
    mkdirSync(mnt);
    await ok(ts, ["snapshots", "view", "v", topChain]);
    const mountCmd = (await ok(ts, ["snapshots", "mounts", mnt, "v"])).trim();
    sh(mountCmd);
    try {
      expect(readFileSync(join(mnt, "etc/motd"), "utf8")).toBe("hello\n");
      expect(readFileSync(join(mnt, "etc/new"), "utf8")).toBe("new\n");
      expect(existsSync(join(mnt, "etc/gone"))).toBe(false);
      expect(statSync(join(mnt, "bin/tool")).mode & 0o7777).toBe(0o4755);
    } finally {
      unmountUnder(mnt);
    }

    const ours = await diffListing(ts, [topChain], join(work, "ours.tgz"));
    expect(ours).toEqual(["etc/", "etc/.wh.gone", "etc/new"]);

    // An active snapshot on top, changed through its mounts, diffed against its parent (plain tar).
    await ok(ts, ["snapshots", "prepare", "--target", mnt, "work", topChain]);
    sh((await ok(ts, ["snapshots", "mounts", mnt, "work"])).trim());
    try {
      writeFileSync(join(mnt, "etc/added"), "added\n");
      rmSync(join(mnt, "etc/motd"));
    } finally {
      unmountUnder(mnt);
    }
    const active = await diffListing(ts, ["--media-type", "application/vnd.oci.image.layer.v1.tar", "work"], join(work, "active.tar"));
    expect(active).toEqual(["etc/", "etc/.wh.motd", "etc/added"]);

    // The same image in containerd 1.6 gives the same layer.
    const cd = await startContainerd();
    daemons.push(cd);
    await ok(cd, ["images", "import", image]);
    expect(await ok(cd, ["snapshots", "ls"])).toContain(topChain);
    expect(await diffListing(cd, [topChain], join(work, "theirs.tgz"))).toEqual(ours);
    // Two-argument form against both daemons: bottom layer vs top.
    const bottom = ls.split("\n").find((l) => l.includes("Committed") && !l.startsWith(topChain))?.split(/\s+/)[0] ?? "";
    expect(await diffListing(ts, [bottom, topChain], join(work, "two.tgz"))).toEqual(await diffListing(cd, [bottom, topChain], join(work, "two-cd.tgz")));
  });
});
