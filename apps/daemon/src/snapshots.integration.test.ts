/**
 * Snapshots end to end: the built containertsd driven by the stock containerd 1.6 `ctr` (prepare, view,
 * commit, ls, mounts, usage, tree, info, label, rm) with both snapshotters, mounting what `ctr snapshots
 * mounts` prints; the error codes of the Snapshots API; garbage collection of unreferenced snapshots.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { SnapshotsClient } from "@containerts/api/services/snapshots/v1";
import { ctr, mountsUnder, startContainertsd, unmountUnder, type TestDaemon } from "@containerts/testkit";
import { Level } from "level";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { DB, type LevelDatabase } from "@containerts/metadata";
import { withNamespace, type Context } from "@containerts/namespaces";
import type { Snapshotter } from "@containerts/snapshots";
import { createSnapshotsServer } from "@containerts/snapshots/grpc";
import { OverlaySnapshotter } from "@containerts/snapshots/overlay";
import { NativeSnapshotter } from "@containerts/snapshots/native";
import { ProxySnapshotter } from "@containerts/snapshots/proxy";
import { escapeRegExp, snapshotterSuite } from "@containerts/snapshots/testsuite";

/** Mount points listed in /proc/self/mountinfo at or below `prefix`. */
function mountinfoUnder(prefix: string): string[] {
  return mountsUnder(prefix);
}

function grpcCall<Res>(fn: (cb: (e: ServiceError | null, r: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => fn((e, r) => (e ? reject(e) : resolve(r))));
}

async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  return p.then(
    (v) => {
      throw new Error(`expected an error, got ${JSON.stringify(v)}`);
    },
    (e: ServiceError) => e,
  );
}

/** Runs `ctr` and fails with its output unless it exits 0. */
async function ok(d: TestDaemon, args: string[], namespace: string): Promise<string> {
  const r = await ctr(d, args, { namespace });
  if (r.code !== 0) throw new Error(`ctr ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Runs a `mount …` line as ctr prints it (through sh, as a user would). */
function runMount(line: string): void {
  const r = spawnSync("sh", ["-c", line], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${line}: ${r.stderr}`);
}

function umount(target: string): void {
  const r = spawnSync("umount", [target], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`umount ${target}: ${r.stderr}`);
}

function tableRows(out: string): string[][] {
  return out
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/));
}

const scratchDirs: string[] = [];
const daemons: TestDaemon[] = [];

afterEach(() => {
  // A failed case may leave its mounts: take them down before the next case.
  for (const dir of scratchDirs) unmountUnder(dir);
});

afterAll(async () => {
  for (const dir of scratchDirs) unmountUnder(dir);
  for (const d of daemons) await d.cleanup();
  const left = [...scratchDirs, ...daemons.map((d) => d.dir)].flatMap((dir) => mountinfoUnder(dir));
  for (const dir of scratchDirs) await rm(dir, { recursive: true, force: true });
  expect(left).toEqual([]);
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cts-snap-it-"));
  scratchDirs.push(dir);
  return dir;
}

describe("snapshots with the stock ctr", () => {
  let d: TestDaemon;

  beforeAll(async () => {
    // No collections here: views made by `ctr snapshots view` and snapshots made over raw gRPC carry no
    // gc.root label, and a collection triggered by an earlier removal would take them mid-case.
    d = await startContainertsd({ config: 'disabled_plugins = ["io.containerd.gc.v1.scheduler"]\n' });
    daemons.push(d);
  });

  it("lists both snapshotters as loaded plugins", async () => {
    const out = await ok(d, ["plugins", "ls"], "default");
    expect(out).toMatch(/io\.containerd\.snapshotter\.v1\s+overlayfs\s+linux\/\S+\s+ok/);
    expect(out).toMatch(/io\.containerd\.snapshotter\.v1\s+native\s+linux\/\S+\s+ok/);
    expect(out).toMatch(/io\.containerd\.service\.v1\s+snapshots-service\s+-\s+ok/);
    expect(out).toMatch(/io\.containerd\.grpc\.v1\s+snapshots\s+-\s+ok/);
  });

  for (const sn of ["overlayfs", "native"] as const) {
    it(`runs prepare/mounts/commit/view/ls/usage/tree/info/label/rm with ${sn}`, async () => {
      const ns = `it-${sn}`;
      const S = ["snapshots", "--snapshotter", sn];
      const dir = await scratch();
      const [m1, m2, m3] = [join(dir, "m1"), join(dir, "m2"), join(dir, "m3")];
      for (const m of [m1, m2, m3]) await mkdir(m);

      // A base layer: prepare, mount what `mounts` prints, write, unmount, commit.
      expect(await ok(d, [...S, "prepare", "base-active"], ns)).toBe("");
      const mountBase = (await ok(d, [...S, "mounts", m1, "base-active"], ns)).trim();
      const root = join(d.root, `io.containerd.snapshotter.v1.${sn}`, "snapshots");
      if (sn === "overlayfs") expect(mountBase).toBe(`mount -t bind ${root}/1/fs ${m1} -o rw,rbind`);
      else expect(mountBase).toBe(`mount -t bind ${root}/1 ${m1} -o rbind,rw`);
      runMount(mountBase);
      await writeFile(join(m1, "hello.txt"), "hello\n");
      await mkdir(join(m1, "etc"));
      await writeFile(join(m1, "etc", "os-release"), "ID=test\n");
      umount(m1);
      expect(await ok(d, [...S, "commit", "base", "base-active"], ns)).toBe("");

      // A child on top of it: sees the parent's files, writes its own.
      const prep = await ok(d, [...S, "prepare", "--target", m2, "child", "base"], ns);
      expect(prep.trim()).toBe((await ok(d, [...S, "mounts", m2, "child"], ns)).trim());
      if (sn === "overlayfs") {
        expect(prep).toMatch(new RegExp(`^mount -t overlay overlay ${m2} -o (index=off,)?workdir=${root}/2/work,upperdir=${root}/2/fs,lowerdir=${root}/1/fs\\n$`));
      } else {
        expect(prep).toBe(`mount -t bind ${root}/2 ${m2} -o rbind,rw\n`);
      }
      runMount(prep.trim());
      expect(await readFile(join(m2, "hello.txt"), "utf8")).toBe("hello\n");
      await writeFile(join(m2, "child.txt"), "child\n");
      await rm(join(m2, "etc"), { recursive: true });
      umount(m2);

      // A read-only view of the base shows the base only.
      await ok(d, [...S, "view", "base-view", "base"], ns);
      runMount((await ok(d, [...S, "mounts", m3, "base-view"], ns)).trim());
      expect((await readdir(m3)).sort()).toEqual(["etc", "hello.txt"]);
      expect(spawnSync("sh", ["-c", `echo x > ${m3}/new`]).status).not.toBe(0);
      umount(m3);

      const ls = await ok(d, [...S, "ls"], ns);
      expect(ls.split("\n")[0]).toMatch(/^KEY\s+PARENT\s+KIND\s*$/);
      expect(tableRows(ls)).toEqual([
        ["base", "Committed"],
        ["base-view", "base", "View"],
        ["child", "base", "Active"],
      ]);
      expect(await ok(d, [...S, "tree"], ns)).toBe(" base\n  \\_ base-view\n  \\_ child\n");

      const usage = tableRows(await ok(d, [...S, "usage", "-b"], ns));
      const byKey = Object.fromEntries(usage.map(([k, size, inodes]) => [k, { size: Number(size), inodes: Number(inodes) }]));
      expect(byKey["base"]!.inodes).toBe(4); // root, hello.txt, etc/, etc/os-release
      expect(byKey["base"]!.size).toBeGreaterThan(0);
      expect(byKey["base-view"]).toEqual({ size: 0, inodes: 0 });
      expect(byKey["child"]!.inodes).toBeGreaterThanOrEqual(2);
      expect(await ok(d, [...S, "usage", "base"], ns)).toMatch(/^KEY\s+SIZE\s+INODES\s*\nbase\s+\d+\.\d (B|KiB|MiB)\s+4\s*\n$/);

      const info = JSON.parse(await ok(d, [...S, "info", "base-view"], ns)) as Record<string, unknown>;
      expect(info).toMatchObject({ Kind: "View", Name: "base-view", Parent: "base" });
      expect(info["Labels"]).toBeUndefined();
      const committed = JSON.parse(await ok(d, [...S, "info", "base"], ns)) as { Labels: Record<string, string>; Created: string };
      expect(Object.keys(committed.Labels)).toEqual(["containerd.io/gc.root"]);
      expect(Number.isNaN(Date.parse(committed.Created))).toBe(false);

      expect((await ok(d, [...S, "label", "child", "a=b", "c=d"], ns)).trim().split(",").sort()).toEqual([
        "a=b",
        "c=d",
        expect.stringMatching(/^containerd\.io\/gc\.root=/),
      ]);
      expect((await ok(d, [...S, "label", "child", "a="], ns)).trim().split(",").sort()).toEqual([
        "c=d",
        expect.stringMatching(/^containerd\.io\/gc\.root=/),
      ]);

      const refused = await ctr(d, [...S, "rm", "base"], { namespace: ns });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe('ctr: failed to remove "base": cannot remove snapshot with child: failed precondition\n');
      await ok(d, [...S, "rm", "child", "base-view"], ns);
      await ok(d, [...S, "rm", "base"], ns);
      expect(tableRows(await ok(d, [...S, "ls"], ns))).toEqual([]);
      // The namespace is empty again: it can go.
      await ok(d, ["namespaces", "rm", ns], "default");
    });
  }

  it("publishes /snapshot/prepare, /snapshot/commit and /snapshot/remove (no event for view)", async () => {
    const ns = "it-events";
    const events = spawn("ctr", ["--address", d.address, "events", 'topic~="^/snapshot/"'], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    events.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    try {
      // The subscription is live once a first event arrives: publish until one does.
      const deadline = Date.now() + 10_000;
      for (let i = 0; !out.includes("/snapshot/") && Date.now() < deadline; i++) {
        await ok(d, ["snapshots", "prepare", `warm-${i}`], ns);
        await ok(d, ["snapshots", "rm", `warm-${i}`], ns);
        await new Promise((r) => setTimeout(r, 100));
      }
      out = "";
      await ok(d, ["snapshots", "prepare", "ev-a"], ns);
      await ok(d, ["snapshots", "commit", "ev-c", "ev-a"], ns);
      await ok(d, ["snapshots", "view", "ev-v", "ev-c"], ns);
      await ok(d, ["snapshots", "rm", "ev-v", "ev-c"], ns);
      for (let i = 0; i < 100 && out.split("\n").filter((l) => l.includes("/snapshot/remove")).length < 2; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      events.kill("SIGTERM");
    }
    const lines = out
      .trim()
      .split("\n")
      .map((l) => l.replace(/^.* UTC /, "")); // drop the timestamp ctr prints first
    expect(lines).toEqual([
      `${ns} /snapshot/prepare {"key":"ev-a"}`,
      `${ns} /snapshot/commit {"key":"ev-a","name":"ev-c"}`,
      `${ns} /snapshot/remove {"key":"ev-v"}`,
      `${ns} /snapshot/remove {"key":"ev-c"}`,
    ]);
  });

  it("keeps the two snapshotters and the namespaces apart", async () => {
    await ok(d, ["snapshots", "prepare", "same"], "iso-a");
    await ok(d, ["snapshots", "--snapshotter", "native", "prepare", "same"], "iso-a");
    await ok(d, ["snapshots", "prepare", "same"], "iso-b");
    expect(tableRows(await ok(d, ["snapshots", "ls"], "iso-a"))).toEqual([["same", "Active"]]);
    const rmNs = await ctr(d, ["namespaces", "rm", "iso-a"], { namespace: "default" });
    expect(rmNs.code).toBe(1);
    expect(rmNs.stderr).toMatch(/must be empty, but it still has snapshots on "native" snapshotter, snapshots on "overlayfs" snapshotter: failed precondition/);
    await ok(d, ["snapshots", "rm", "same"], "iso-a");
    await ok(d, ["snapshots", "--snapshotter", "native", "rm", "same"], "iso-a");
    await ok(d, ["snapshots", "rm", "same"], "iso-b");
  });

  it("answers bad input with containerd's codes and messages", async () => {
    const c = new SnapshotsClient(`unix://${d.address}`, credentials.createInsecure());
    const md = (ns = "errs") => {
      const m = new Metadata();
      m.set("containerd-namespace", ns);
      return m;
    };
    try {
      const sn = "overlayfs";
      await grpcCall((cb) => c.prepare({ snapshotter: sn, key: "active", parent: "", labels: {} }, md(), cb));
      await grpcCall((cb) => c.view({ snapshotter: sn, key: "view", parent: "", labels: {} }, md(), cb));

      const cases: Array<[string, () => Promise<unknown>, number, string | RegExp]> = [
        ["no snapshotter", () => grpcCall((cb) => c.stat({ snapshotter: "", key: "x" }, md(), cb)), status.INVALID_ARGUMENT, "snapshotter argument missing: invalid argument"],
        ["unknown snapshotter", () => grpcCall((cb) => c.stat({ snapshotter: "btrfs", key: "x" }, md(), cb)), status.INVALID_ARGUMENT, "snapshotter not loaded: btrfs: invalid argument"],
        ["stat missing", () => grpcCall((cb) => c.stat({ snapshotter: sn, key: "missing" }, md(), cb)), status.NOT_FOUND, "snapshot missing does not exist: not found"],
        ["remove missing", () => grpcCall((cb) => c.remove({ snapshotter: sn, key: "missing" }, md(), cb)), status.NOT_FOUND, "snapshot missing does not exist: not found"],
        ["key exists", () => grpcCall((cb) => c.prepare({ snapshotter: sn, key: "active", parent: "", labels: {} }, md(), cb)), status.ALREADY_EXISTS, 'snapshot "active": already exists'],
        ["parent missing", () => grpcCall((cb) => c.prepare({ snapshotter: sn, key: "x", parent: "missing", labels: {} }, md(), cb)), status.NOT_FOUND, "parent snapshot missing does not exist: not found"],
        ["parent active", () => grpcCall((cb) => c.prepare({ snapshotter: sn, key: "x", parent: "active", labels: {} }, md(), cb)), status.INVALID_ARGUMENT, /^parent "errs\/\d+\/active" is not committed snapshot: invalid argument$/],
        ["commit view", () => grpcCall((cb) => c.commit({ snapshotter: sn, name: "c", key: "view", labels: {} }, md(), cb)), status.FAILED_PRECONDITION, /^snapshot "errs\/\d+\/view" is not active: failed precondition$/],
        ["commit missing", () => grpcCall((cb) => c.commit({ snapshotter: sn, name: "c", key: "missing", labels: {} }, md(), cb)), status.NOT_FOUND, "snapshot missing does not exist: not found"],
        ["cleanup", () => grpcCall((cb) => c.cleanup({ snapshotter: sn }, md(), cb)), status.UNIMPLEMENTED, "snapshotter does not implement Cleanup method: not implemented"],
        ["no namespace", () => grpcCall((cb) => c.stat({ snapshotter: sn, key: "x" }, new Metadata(), cb)), status.FAILED_PRECONDITION, "namespace is required: failed precondition"],
        ["bad update path", () => grpcCall((cb) => c.update({ snapshotter: sn, info: { name: "active", parent: "", kind: 0, createdAt: undefined, updatedAt: undefined, labels: {} }, updateMask: ["parent"] }, md(), cb)), status.INVALID_ARGUMENT, 'cannot update "parent" field on snapshot "active": invalid argument'],
        ["label too big", () => grpcCall((cb) => c.prepare({ snapshotter: sn, key: "big", parent: "", labels: { k: "v".repeat(5000) } }, md(), cb)), status.INVALID_ARGUMENT, /^info\.Labels: label key and value greater than maximum size \(4096 bytes\), key: k: invalid argument$/],
      ];
      for (const [name, p, code, message] of cases) {
        const err = await grpcError(p());
        expect([name, err.code]).toEqual([name, code]);
        if (typeof message === "string") expect(err.details).toBe(message);
        else expect(err.details).toMatch(message);
      }

      // A lease that does not exist: NotFound, and nothing is created.
      const leased = md();
      leased.set("containerd-lease", "no-such-lease");
      const noLease = await grpcError(grpcCall((cb) => c.prepare({ snapshotter: sn, key: "leased", parent: "", labels: {} }, leased, cb)));
      expect([noLease.code, noLease.details]).toEqual([status.NOT_FOUND, "lease does not exist: not found"]);

      // With children: FAILED_PRECONDITION.
      await grpcCall((cb) => c.commit({ snapshotter: sn, name: "parent", key: "active", labels: {} }, md(), cb));
      await grpcCall((cb) => c.prepare({ snapshotter: sn, key: "child", parent: "parent", labels: {} }, md(), cb));
      const withChild = await grpcError(grpcCall((cb) => c.remove({ snapshotter: sn, key: "parent" }, md(), cb)));
      expect([withChild.code, withChild.details]).toEqual([status.FAILED_PRECONDITION, "cannot remove snapshot with child: failed precondition"]);
      const mountsCommitted = await grpcError(grpcCall((cb) => c.mounts({ snapshotter: sn, key: "parent" }, md(), cb)));
      expect(mountsCommitted.code).toBe(status.FAILED_PRECONDITION);
      expect(mountsCommitted.details).toMatch(/^requested snapshot errs\/\d+\/parent not active or view: failed precondition$/);
      const usage = await grpcCall<{ size: bigint; inodes: bigint }>((cb) => c.usage({ snapshotter: sn, key: "view" }, md(), cb));
      expect(usage).toEqual({ size: 0n, inodes: 0n });
      for (const key of ["child", "parent", "view"]) await grpcCall((cb) => c.remove({ snapshotter: sn, key }, md(), cb));
    } finally {
      c.close();
    }
  });
});

describe("garbage collection of snapshots", () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await startContainertsd();
    daemons.push(d);
  });

  for (const sn of ["overlayfs", "native"] as const) {
    it(`removes an unreferenced ${sn} snapshot and keeps one labelled gc.root`, async () => {
      const ns = `gc-${sn}`;
      const S = ["snapshots", "--snapshotter", sn];
      const dirs = join(d.root, `io.containerd.snapshotter.v1.${sn}`, "snapshots");
      // ctr labels what prepare and commit create with containerd.io/gc.root; views get no label.
      await ok(d, [...S, "prepare", "base-a"], ns);
      await ok(d, [...S, "commit", "base", "base-a"], ns);
      await ok(d, [...S, "view", "unreferenced", "base"], ns);
      await ok(d, [...S, "prepare", "kept", "base"], ns);
      await ok(d, [...S, "prepare", "doomed"], ns);
      // (A collection may already have taken the view: the start-up one, or one a removal in an earlier
      // case triggered. Either way, only the final state is certain.)
      // A removal marks the database dirty and triggers a collection.
      await ok(d, [...S, "rm", "doomed"], ns);
      const deadline = Date.now() + 15_000;
      let keys: string[] = [];
      let left: string[] = [];
      for (;;) {
        keys = tableRows(await ok(d, [...S, "ls"], ns)).map((r) => r[0]!);
        left = await readdir(dirs);
        if ((!keys.includes("unreferenced") && left.length === 2) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(keys).toEqual(["base", "kept"]);
      // The removed and the collected snapshots' directories went with the backend's cleanup.
      expect(left.length).toBe(2);
      expect(existsSync(dirs)).toBe(true);
      await ok(d, [...S, "rm", "kept", "base"], ns);
    });
  }
});

/**
 * The whole stack in one process, on disk: ProxySnapshotter → gRPC (unix socket) → the Snapshots service
 * adapter → MetadataSnapshotter (level) → the backend snapshotter (level), in one namespace. The suite's
 * crash-recovery case reopens everything on the same root.
 */
function fullStack(kind: "overlayfs" | "native") {
  return async (root: string): Promise<Snapshotter> => {
    const open = (location: string) =>
      new Level<string, string>(location, { keyEncoding: "utf8", valueEncoding: "utf8" }) as unknown as LevelDatabase;
    const backendRoot = join(root, `io.containerd.snapshotter.v1.${kind}`);
    const backend =
      kind === "overlayfs"
        ? await OverlaySnapshotter.open({ root: backendRoot, openDatabase: open, asyncRemove: true })
        : await NativeSnapshotter.open({ root: backendRoot, openDatabase: open });
    const db = await DB.open(open(join(root, "meta.level")));
    const metadataSnapshotter = db.snapshotter(kind, backend);
    const server = new Server();
    createSnapshotsServer(new Map([[kind, metadataSnapshotter]])).register(server);
    const socket = join(root, "s.sock");
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    const proxy = new ProxySnapshotter({ address: `unix://${socket}`, credentials: credentials.createInsecure(), options: {} }, kind);
    const c = (ctx: Context) => withNamespace(ctx, "suite");
    let closed = false;
    return {
      stat: (ctx, key) => proxy.stat(c(ctx), key),
      update: (ctx, info, paths) => proxy.update(c(ctx), info, paths),
      usage: (ctx, key) => proxy.usage(c(ctx), key),
      mounts: (ctx, key) => proxy.mounts(c(ctx), key),
      prepare: (ctx, key, parent, o) => proxy.prepare(c(ctx), key, parent, o),
      view: (ctx, key, parent, o) => proxy.view(c(ctx), key, parent, o),
      commit: (ctx, name, key, o) => proxy.commit(c(ctx), name, key, o),
      remove: (ctx, key) => proxy.remove(c(ctx), key),
      walk: (ctx, fn, filters) => proxy.walk(c(ctx), fn, filters),
      cleanup: (ctx) => proxy.cleanup(c(ctx)),
      close: async () => {
        if (closed) return;
        closed = true;
        await proxy.close();
        server.forceShutdown();
        await metadataSnapshotter.close();
        await db.close();
      },
    };
  };
}

for (const kind of ["overlayfs", "native"] as const) {
  snapshotterSuite(`proxy → gRPC → metadata → ${kind}`, fullStack(kind), {
    snapshotsDir: (root) => join(root, `io.containerd.snapshotter.v1.${kind}`, "snapshots"),
    backendKeyPattern: (key) => `suite/\\d+/${escapeRegExp(key)}`,
    deepLayers: kind === "overlayfs" ? 64 : 16,
  });
}
