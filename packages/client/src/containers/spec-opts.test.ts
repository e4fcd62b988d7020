import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Descriptor, Digest, Provider } from "@containerts/content";
import { kindOf } from "@containerts/errdefs";
import { background, withNamespace } from "@containerts/namespaces";
import { defaultUnixSpec, processJson, specJson, type Spec } from "./oci.js";
import {
  type ContainerImage,
  type SpecContext,
  type SpecOpt,
  devicesAt,
  effectiveCapabilities,
  parseMountFlag,
  replaceOrAppendEnv,
  withAdditionalGIDs,
  withDefaultUnixDevices,
  withEnv,
  withHostHostsFile,
  withHostNamespace,
  withHostResolvconf,
  withImageConfig,
  withMounts,
  withProcessArgs,
  withProcessCwd,
  withTTY,
  withUser,
} from "./spec-opts.js";
import { resolveInRoot } from "./rootfs.js";

/** A content provider over an in-memory map of blobs. */
function memoryProvider(blobs: Map<string, Uint8Array>): Provider {
  return {
    async readerAt() {
      throw new Error("not used");
    },
    async *read(_ctx, dgst) {
      const b = blobs.get(dgst);
      if (b === undefined) throw Object.assign(new Error(`content digest ${dgst}: not found`), {});
      yield b;
    },
  } as Provider;
}

function blob(blobs: Map<string, Uint8Array>, mediaType: string, doc: unknown): Descriptor {
  const bytes = new TextEncoder().encode(JSON.stringify(doc));
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest;
  blobs.set(digest, bytes);
  return { mediaType, digest, size: bytes.length };
}

/** An OCI image whose config has `config` as its execution parameters. */
function testImage(blobs: Map<string, Uint8Array>, config: Record<string, unknown>): ContainerImage {
  const cfg = blob(blobs, "application/vnd.oci.image.config.v1+json", {
    architecture: process.arch === "arm64" ? "arm64" : "amd64",
    os: "linux",
    config,
    rootfs: { type: "layers", diff_ids: ["sha256:a4a45d78ee6db47b20397792ae583dcf643ca7a6ebf813812e2db73a9c417164"] },
  });
  const target = blob(blobs, "application/vnd.oci.image.manifest.v1+json", {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: cfg,
    layers: [],
  });
  return { name: "docker.io/library/busybox:latest", target };
}

const PASSWD = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n";
const GROUP = "root:x:0:\ndaemon:x:1:\nwheel:x:10:app,daemon\naudio:x:29:app\napp:x:1000:app\nnogroup:x:65534:\n";

describe("spec options", () => {
  let dir: string;
  let rootfs: string;
  const blobs = new Map<string, Uint8Array>();
  const ctx = withNamespace(background(), "default");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "spec-opts-"));
    rootfs = join(dir, "rootfs");
    await mkdir(join(rootfs, "etc"), { recursive: true });
    await writeFile(join(rootfs, "etc/passwd"), PASSWD);
    await writeFile(join(rootfs, "etc/group"), GROUP);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A context for container `id` whose "snapshot" is the test rootfs, bind-mounted read-only by the options. */
  function specContext(id: string, mounted: string[] = []): SpecContext {
    return {
      ctx,
      container: { id, snapshotter: "overlayfs", snapshotKey: id },
      content: memoryProvider(blobs),
      async snapshotMounts(snapshotter, key) {
        expect([snapshotter, key]).toEqual(["overlayfs", id]);
        mounted.push(key);
        return [{ type: "bind", source: rootfs, options: ["rbind", "ro"] }];
      },
    };
  }

  async function build(id: string, ...opts: SpecOpt[]): Promise<Spec> {
    const s = defaultUnixSpec("default", id);
    const sc = specContext(id);
    for (const o of opts) await o(sc, s);
    return s;
  }

  it("builds exactly the spec ctr 1.6 writes for `ctr c create busybox ref1`", async () => {
    const image = testImage(blobs, { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] });
    const mounted: string[] = [];
    const s = defaultUnixSpec("default", "ref1");
    const sc = specContext("ref1", mounted);
    for (const o of [withDefaultUnixDevices, withEnv([]), withMounts([]), withImageConfig(image)]) await o(sc, s);
    const expected = JSON.parse(await readFile(new URL("./__fixtures__/ctr-create-spec.json", import.meta.url), "utf8")) as unknown;
    expect(JSON.parse(specJson(s))).toEqual(expected);
    // Go field order: ociVersion, process{user,args,env,cwd,capabilities,rlimits,noNewPrivileges}, root, mounts, linux.
    expect(specJson(s)).toBe(JSON.stringify(expected));
    // The rootfs was mounted to read /etc/group (withTempMount removes its directory, which fails while mounted).
    expect(mounted).toEqual(["ref1"]);
  });

  it("applies ctr run's options in ctr's order: env over the image's, mounts, args, cwd, tty, host network", async () => {
    const image = testImage(blobs, { Env: ["PATH=/bin", "A=image", "B=image"], Entrypoint: ["/bin/ep"], Cmd: ["default"], WorkingDir: "/work" });
    const s = await build(
      "r2",
      withDefaultUnixDevices,
      withEnv(["A=flag", "C=flag"]),
      withMounts([parseMountFlag("type=bind,src=/tmp,dst=/host,options=rbind:ro")]),
      withImageConfig(image),
      withProcessArgs("sh", "-c", "true"),
      withProcessCwd("/tmp"),
      withTTY,
      withHostNamespace("network"),
      withHostHostsFile,
      withHostResolvconf,
      withEnv(["HOSTNAME=h"]),
    );
    expect(s.process?.env).toEqual(["PATH=/bin", "A=flag", "B=image", "C=flag", "TERM=xterm", "HOSTNAME=h"]);
    expect(s.process?.args).toEqual(["sh", "-c", "true"]);
    expect(s.process?.cwd).toBe("/tmp");
    expect(s.process?.terminal).toBe(true);
    expect(s.linux?.namespaces?.map((n) => n.type)).toEqual(["pid", "ipc", "uts", "mount"]);
    expect(s.mounts?.slice(-3)).toEqual([
      { destination: "/host", type: "bind", source: "/tmp", options: ["rbind", "ro"] },
      { destination: "/etc/hosts", type: "bind", source: "/etc/hosts", options: ["rbind", "ro"] },
      { destination: "/etc/resolv.conf", type: "bind", source: "/etc/resolv.conf", options: ["rbind", "ro"] },
    ]);
    // terminal comes first in Go's Process struct.
    expect(specJson(s)).toMatch(/^\{"ociVersion":"1\.0\.2-dev","process":\{"terminal":true,"user":/);
  });

  it("takes the image's entrypoint and cmd, and its user with additional groups from /etc/group", async () => {
    const image = testImage(blobs, { Entrypoint: ["/bin/ep"], Cmd: ["a", "b"], User: "app" });
    const s = await build("u1", withImageConfig(image));
    expect(s.process?.args).toEqual(["/bin/ep", "a", "b"]);
    expect(s.process?.cwd).toBe("/");
    expect(s.process?.env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    expect(s.process?.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] });
  });

  it.each([
    ["daemon", { uid: 1, gid: 1, additionalGids: [1] }],
    ["1000", { uid: 1000, gid: 1000, additionalGids: [1000] }],
    ["4242", { uid: 4242, gid: 0, additionalGids: [0] }],
    ["1:2", { uid: 1, gid: 2, additionalGids: [2] }],
    ["app:wheel", { uid: 1000, gid: 10, additionalGids: [10] }],
    ["5:nogroup", { uid: 5, gid: 65534, additionalGids: [65534] }],
    ["nobody:0", { uid: 65534, gid: 0, additionalGids: [0] }],
  ])("resolves --user %s as containerd does", async (user, expected) => {
    const s = await build("u2", withUser(user));
    expect(s.process?.user).toEqual(expected);
  });

  it("rejects unknown users and groups and malformed user strings", async () => {
    await expect(build("u3", withUser("ghost"))).rejects.toThrow(/^no users found$/);
    await expect(build("u3", withUser("1:ghosts"))).rejects.toThrow(/^no groups found$/);
    await expect(build("u3", withUser("a:b:c"))).rejects.toThrow(/^invalid USER value a:b:c$/);
    const err = await build("u3", withUser("ghost")).catch((e: unknown) => e);
    expect(kindOf(err)).toBe("NotFound");
  });

  it("sets the groups a user is a member of", async () => {
    const s = await build("g1", withAdditionalGIDs("daemon"));
    expect(s.process?.user).toEqual({ uid: 0, gid: 0, additionalGids: [0, 10] });
  });

  it("refuses an image config of another media type", async () => {
    const target = blob(blobs, "application/vnd.oci.image.manifest.v1+json", {
      schemaVersion: 2,
      config: { mediaType: "application/x-other", digest: `sha256:${"0".repeat(64)}`, size: 2 },
      layers: [],
    });
    const err = await build("bad", withImageConfig({ name: "x", target })).catch((e: unknown) => e);
    expect(String(err)).toMatch(/unknown image config media type application\/x-other/);
  });

  it("needs an absolute root path when the container has no snapshot", async () => {
    const s = defaultUnixSpec("default", "nosnap");
    const sc: SpecContext = { ...specContext("nosnap"), container: { id: "nosnap", snapshotter: "", snapshotKey: "" } };
    await expect(withUser("daemon")(sc, s)).rejects.toThrow("rootfs absolute path is required");
    s.root = { path: rootfs };
    await withUser("daemon")(sc, s);
    expect(s.process?.user.uid).toBe(1);
  });

  it("merges env like replaceOrAppendEnvValues", () => {
    expect(replaceOrAppendEnv(["A=1", "B=2", "C=3"], ["B=x", "D=4", "A", "E"])).toEqual(["B=x", "C=3", "D=4"]);
    expect(replaceOrAppendEnv([], ["X=1"])).toEqual(["X=1"]);
  });

  it("parses --mount like ctr", () => {
    expect(parseMountFlag("type=bind,source=/a,destination=/b,options=rbind:rw")).toEqual({ destination: "/b", type: "bind", source: "/a", options: ["rbind", "rw"] });
    expect(parseMountFlag('type=tmpfs,"dst=/x,y"')).toEqual({ destination: "/x,y", type: "tmpfs" });
    expect(() => parseMountFlag("type")).toThrow("invalid mount specification: expected key=val");
    expect(() => parseMountFlag("target=/x")).toThrow('mount option "target" not supported');
  });

  it("writes exec process specs in Go's field order", () => {
    expect(processJson({ user: { uid: 0, gid: 0 }, cwd: "/", args: ["sh"], terminal: true, env: ["A=<&>"] })).toBe(
      '{"terminal":true,"user":{"uid":0,"gid":0},"args":["sh"],"env":["A=\\u003c\\u0026\\u003e"],"cwd":"/"}',
    );
  });
});

describe("privileged and device options", () => {
  it("names the effective capabilities of a process status, ignoring unknown bits", () => {
    expect(effectiveCapabilities("Name:\tx\nCapEff:\t0000000000000005\n")).toEqual(["CAP_CHOWN", "CAP_DAC_READ_SEARCH"]);
    const all = effectiveCapabilities("CapEff:\tffffffffffffffff\n");
    expect(all).toHaveLength(41);
    expect(all.at(-1)).toBe("CAP_CHECKPOINT_RESTORE");
    expect(() => effectiveCapabilities("Name: x\n")).toThrow(/CapEff/);
  });

  it("reads device nodes as containerd's getDevices does", async () => {
    expect(devicesAt("/dev/null")).toEqual([{ path: "/dev/null", type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]);
    expect(devicesAt("/dev/null", "/dev/mynull")[0]?.path).toBe("/dev/mynull");
    const dir = await mkdtemp(join(tmpdir(), "devs-"));
    try {
      // Devices in a tree, sorted by name; FIFOs, symlinks, plain files, `console` and the pts/shm/fd/mqueue
      // directories are left out. (Tests run as root: mknod works.)
      await mkdir(join(dir, "sub"));
      await mkdir(join(dir, "pts"));
      const mk = (args: string[]) => expect(spawnSync("mknod", args).status).toBe(0);
      mk(["-m", "0640", join(dir, "zz"), "c", "1", "5"]);
      mk(["-m", "0600", join(dir, "sub", "blk"), "b", "7", "300"]);
      mk([join(dir, "pts", "0"), "c", "136", "0"]);
      mk([join(dir, "console"), "c", "5", "1"]);
      mk([join(dir, "fifo"), "p"]);
      await writeFile(join(dir, "plain"), "");
      await symlink("/dev/null", join(dir, "link"));
      expect(devicesAt(dir)).toEqual([
        { path: join(dir, "sub", "blk"), type: "b", major: 7, minor: 300, fileMode: 0o600, uid: 0, gid: 0 },
        { path: join(dir, "zz"), type: "c", major: 1, minor: 5, fileMode: 0o640, uid: 0, gid: 0 },
      ]);
      expect(devicesAt(dir, "/c").map((d) => d.path)).toEqual(["/c/sub/blk", "/c/zz"]);
      expect(() => devicesAt(join(dir, "nope"))).toThrow(`error stating device path: stat ${join(dir, "nope")}: no such file or directory`);
      expect(() => devicesAt(join(dir, "link2"))).toThrow(/no such file/);
      expect(() => devicesAt(join(dir, "link"))).toThrow("not a device node");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("resolveInRoot", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "rootpath-"));
    await mkdir(join(root, "etc"));
    await mkdir(join(root, "real"));
    await symlink("/real", join(root, "abs"));
    await symlink("../../../../real", join(root, "rel"));
    await symlink("/etc/../../../outside", join(root, "etc/escape"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("never leaves the root, following links as if the root were /", () => {
    expect(resolveInRoot(root, "/etc/passwd")).toBe(join(root, "etc/passwd"));
    expect(resolveInRoot(root, "/../../etc/passwd")).toBe(join(root, "etc/passwd"));
    expect(resolveInRoot(root, "/abs/x")).toBe(join(root, "real/x"));
    expect(resolveInRoot(root, "/rel/x")).toBe(join(root, "real/x"));
    expect(resolveInRoot(root, "/etc/escape")).toBe(join(root, "outside"));
  });
});
