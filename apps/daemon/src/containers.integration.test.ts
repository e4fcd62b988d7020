/**
 * Containers end to end: containertsd (built) with containers created through `ProxyContainerStore`, read,
 * labelled and removed with the stock containerd 1.6 `ctr`, and bad inputs answered with containerd's codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { ContainersClient } from "@containerts/api/services/containers/v1";
import { specAny, type ContainerInput } from "@containerts/containers";
import { ProxyContainerStore } from "@containerts/containers/proxy";
import { kindOf } from "@containerts/errdefs";
import { background, withNamespace } from "@containerts/namespaces";
import { ctr, startContainertsd, tsctr, type TestDaemon } from "@containerts/testkit";

const spec = {
  ociVersion: "1.0.2-dev",
  process: { user: { uid: 0, gid: 0 }, args: ["sh", "-c", "echo hi"], env: ["PATH=/bin"], cwd: "/" },
  root: { path: "rootfs" },
  hostname: "c1",
  linux: { namespaces: [{ type: "pid" }, { type: "mount" }] },
};
/** ctr's runtime options for io.containerd.runc.v2: `containerd.runc.v1.Options` with an empty value. */
const runcOptions = { typeUrl: "containerd.runc.v1.Options", value: new Uint8Array() };

describe("containers through containertsd and the stock ctr", () => {
  let d: TestDaemon;
  let store: ProxyContainerStore;
  const ctx = withNamespace(background(), "default");
  const input = (id: string, extra: Partial<ContainerInput> = {}): ContainerInput => ({
    id,
    image: "docker.io/library/busybox:latest",
    runtime: { name: "io.containerd.runc.v2", options: runcOptions },
    spec: specAny(spec),
    ...extra,
  });

  beforeAll(async () => {
    d = await startContainertsd();
    store = new ProxyContainerStore({ address: `unix://${d.address}`, credentials: credentials.createInsecure(), options: {} });
  });
  afterAll(async () => {
    store?.close();
    await d?.cleanup();
  });

  it("lists containers like ctr containers ls, with filters and -q", async () => {
    await store.create(ctx, input("web", { labels: { tier: "front" } }));
    await store.create(ctx, input("db", { image: "", runtime: { name: "io.containerts.tsrunc.v1" } }));
    const ls = await ctr(d, ["containers", "ls"]);
    expect(ls.stderr).toBe("");
    expect(ls.code).toBe(0);
    expect(ls.stdout).toBe(
      [
        "CONTAINER    IMAGE                               RUNTIME                     ",
        "db           -                                   io.containerts.tsrunc.v1    ",
        "web          docker.io/library/busybox:latest    io.containerd.runc.v2       ",
        "",
      ].join("\n"),
    );
    expect((await ctr(d, ["c", "ls", "-q"])).stdout).toBe("db\nweb\n");
    expect((await ctr(d, ["c", "ls", "-q", "labels.tier==front"])).stdout).toBe("web\n");
    expect((await ctr(d, ["c", "ls", "-q", "runtime.name==io.containerts.tsrunc.v1", "id==web"])).stdout).toBe("db\nweb\n");
    const bad = await ctr(d, ["c", "ls", "id=="]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/filters: parse error/);
    expect((await ctr(d, ["c", "ls", "-q"], { namespace: "other" })).stdout).toBe("");
    await store.delete(ctx, "web");
    await store.delete(ctx, "db");
  });

  it("shows a container with ctr c info, the spec decoded", async () => {
    const created = await store.create(
      ctx,
      input("info1", {
        labels: { a: "1" },
        snapshotter: "overlayfs",
        snapshotKey: "info1",
        extensions: { ext: { typeUrl: "example.com/Ext", value: new Uint8Array([1, 2, 3]) } },
      }),
    );
    const r = await ctr(d, ["c", "info", "info1"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${JSON.stringify(
      {
        ID: "info1",
        Labels: { a: "1" },
        Image: "docker.io/library/busybox:latest",
        Runtime: { Name: "io.containerd.runc.v2", Options: { type_url: "containerd.runc.v1.Options" } },
        SnapshotKey: "info1",
        Snapshotter: "overlayfs",
        CreatedAt: created.createdAt.toISOString().replace(/\.?0*Z$/, "Z"),
        UpdatedAt: created.updatedAt.toISOString().replace(/\.?0*Z$/, "Z"),
        Extensions: { ext: { type_url: "example.com/Ext", value: "AQID" } },
        Spec: spec,
      },
      null,
      4,
    )}\n`);
    const specOnly = await ctr(d, ["c", "info", "--spec", "info1"]);
    expect(JSON.parse(specOnly.stdout)).toEqual(spec);
    const missing = await ctr(d, ["c", "info", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/container "nope" in namespace "default": not found/);
  });

  it("sets and clears labels with ctr c label", async () => {
    await store.create(ctx, input("lbl", { labels: { keep: "k" } }));
    const set = await ctr(d, ["c", "label", "lbl", "a=1", "flag"]);
    expect(set.code).toBe(0);
    expect(set.stdout.trim().split(",").sort()).toEqual(["a=1", "flag=true", "keep=k"]);
    expect((await store.get(ctx, "lbl")).labels).toEqual({ keep: "k", a: "1", flag: "true" });
    const clear = await ctr(d, ["c", "label", "lbl", "a=", "keep="]);
    expect(clear.code).toBe(0);
    expect(clear.stdout).toBe("flag=true\n");
    expect((await store.get(ctx, "lbl")).labels).toEqual({ flag: "true" });
    const before = await store.get(ctx, "lbl");
    expect(before.updatedAt.getTime()).toBeGreaterThanOrEqual(before.createdAt.getTime());
  });

  it("removes containers with ctr c rm", async () => {
    await store.create(ctx, input("rm1"));
    await store.create(ctx, input("rm2"));
    // Snapshot keys that name no snapshot: ctr's cleanup tolerates NotFound from Snapshots.Remove.
    await store.create(ctx, input("rm3", { snapshotter: "overlayfs", snapshotKey: "rm3" }));
    await store.create(ctx, input("rm4", { snapshotter: "overlayfs", snapshotKey: "rm4" }));
    const r = await ctr(d, ["c", "rm", "rm1", "rm2", "rm3"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((await ctr(d, ["c", "rm", "--keep-snapshot", "rm4"])).code).toBe(0);
    for (const id of ["rm1", "rm2", "rm3", "rm4"]) expect(kindOf(await store.get(ctx, id).catch((e: unknown) => e))).toBe("NotFound");
    const again = await ctr(d, ["c", "rm", "rm1"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not found/);
  });

  it("keeps a container's snapshot through garbage collection; ctr c rm removes it", async () => {
    const gcCtx = withNamespace(background(), "gcns");
    const sn = (args: string[]) => ctr(d, ["snapshots", ...args], { namespace: "gcns" });
    const keys = async () =>
      (await sn(["ls"])).stdout
        .split("\n")
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .filter((k) => k !== "");
    expect((await sn(["prepare", "base"])).code).toBe(0);
    expect((await sn(["commit", "basec", "base"])).code).toBe(0);
    // Views get no gc.root label from ctr: only references keep them. The container referencing v1 is
    // created first (the server does not check the snapshot exists), so no collection can run while v1
    // is unreferenced.
    await store.create(gcCtx, input("gc1", { snapshotter: "overlayfs", snapshotKey: "v1" }));
    expect((await sn(["view", "v1", "basec"])).code).toBe(0);
    expect((await sn(["view", "v2", "basec"])).code).toBe(0);

    // A deletion schedules a collection; wait for it to take the unreferenced view.
    expect((await sn(["prepare", "tmp"])).code).toBe(0);
    expect((await sn(["rm", "tmp"])).code).toBe(0);
    const deadline = Date.now() + 10_000;
    while ((await keys()).includes("v2")) {
      if (Date.now() > deadline) throw new Error(`no collection removed v2:\n${d.logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await keys()).toEqual(["basec", "v1"]);

    const r = await ctr(d, ["c", "rm", "gc1"], { namespace: "gcns" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await keys()).toEqual(["basec"]);
  });

  it("answers bad inputs with containerd's codes and messages", async () => {
    const noSpec = await store.create(ctx, { id: "bad1", runtime: { name: "io.containerd.runc.v2" } }).catch((e: Error) => e);
    expect(kindOf(noSpec)).toBe("InvalidArgument");
    expect((noSpec as Error).message).toBe("create container failed validation: container.Spec must be set: invalid argument");
    const badId = await store.create(ctx, input("bad id")).catch((e: Error) => e);
    expect(kindOf(badId)).toBe("InvalidArgument");
    expect((badId as Error).message).toMatch(/^create container failed validation: container\.ID: identifier "bad id" must match/);
    await store.create(ctx, input("dup"));
    const dup = await store.create(ctx, input("dup")).catch((e: Error) => e);
    expect(kindOf(dup)).toBe("AlreadyExists");
    expect((dup as Error).message).toBe('container "dup": already exists');
    const immutable = await store.update(ctx, input("dup", { runtime: { name: "io.containerts.tsrunc.v1" } })).catch((e: Error) => e);
    expect((immutable as Error).message).toBe("container.Runtime.Name field is immutable: invalid argument");

    // The raw status codes, as ctr and the Go client see them.
    const client = new ContainersClient(`unix://${d.address}`, credentials.createInsecure());
    try {
      const code = (fn: (md: Metadata, cb: (e: ServiceError | null) => void) => void, ns = "default") =>
        new Promise<number>((resolve) => {
          const md = new Metadata();
          if (ns !== "") md.set("containerd-namespace", ns);
          fn(md, (e) => resolve(e === null ? status.OK : e.code));
        });
      expect(await code((md, cb) => client.create({ container: undefined }, md, cb))).toBe(status.INVALID_ARGUMENT);
      expect(await code((md, cb) => client.get({ id: "dup" }, md, cb), "")).toBe(status.FAILED_PRECONDITION);
      expect(await code((md, cb) => client.get({ id: "nope" }, md, cb))).toBe(status.NOT_FOUND);
      expect(await code((md, cb) => client.delete({ id: "nope" }, md, cb))).toBe(status.NOT_FOUND);
      expect(await code((md, cb) => client.update({ container: undefined, updateMask: undefined }, md, cb))).toBe(status.INVALID_ARGUMENT);
      expect(await code((md, cb) => client.create({ container: { ...emptyPb, id: "dup", runtime: { name: "r", options: undefined } } }, md, cb))).toBe(
        status.INVALID_ARGUMENT,
      );
    } finally {
      client.close();
    }
    await store.delete(ctx, "dup");
  });

  it("publishes /containers/create, /update and /delete, as ctr events shows them", async () => {
    const ev = spawn("ctr", ["--address", d.address, "events", 'namespace==evns,topic~="^/containers/"'], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    ev.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    ev.stderr.setEncoding("utf8").on("data", (s: string) => (out += s));
    const evCtx = withNamespace(background(), "evns");
    const waitFor = async (pred: () => boolean, poke?: () => Promise<void>) => {
      const deadline = Date.now() + 10_000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`ctr events printed:\n${out}`);
        await poke?.();
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      // The subscription is live once an event comes through.
      let n = 0;
      await waitFor(
        () => out.includes("/containers/delete"),
        async () => {
          await store.create(evCtx, input(`probe${n}`));
          await store.delete(evCtx, `probe${n++}`);
        },
      );
      out = "";
      await store.create(evCtx, input("ev1", { image: "img" }));
      await store.update(evCtx, { id: "ev1", labels: { a: "b" }, snapshotKey: "ignored" }, ["labels.a"]);
      await store.delete(evCtx, "ev1");
      await waitFor(() => out.split("\n").filter((l) => l.includes("ev1")).length === 3);
      const lines = out.trim().split("\n").map((l) => l.replace(/^\S+ \S+ \+0000 UTC /, ""));
      expect(lines).toEqual([
        'evns /containers/create {"id":"ev1","image":"img","runtime":{"name":"io.containerd.runc.v2","options":{"type_url":"containerd.runc.v1.Options"}}}',
        'evns /containers/update {"id":"ev1","image":"img","labels":{"a":"b"}}',
        'evns /containers/delete {"id":"ev1"}',
      ]);
    } finally {
      ev.kill("SIGKILL");
    }
  });

  it("tsctr containers ls|info|label|rm print what ctr prints", async () => {
    const tsCtx = withNamespace(background(), "tsctr");
    await store.create(tsCtx, input("t1", { labels: { a: "1", "x<y>&z": "v" }, snapshotter: "overlayfs", snapshotKey: "t1" }));
    await store.create(tsCtx, input("t2", { image: "", spec: { typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Spec", value: new Uint8Array() } }));
    await store.create(tsCtx, input("t3", { extensions: { e: { typeUrl: "x", value: new Uint8Array([255]) } } }));
    const both = async (args: string[]) => {
      const [a, b] = await Promise.all([ctr(d, args, { namespace: "tsctr" }), tsctr(d, args, { namespace: "tsctr" })]);
      return { ctr: a, tsctr: b };
    };
    for (const args of [["c", "ls"], ["containers", "list", "-q"], ["c", "ls", "labels.a==1"], ["c", "info", "t1"], ["c", "info", "t2"], ["c", "info", "t3"], ["c", "info", "--spec", "t1"]]) {
      const r = await both(args);
      expect(r.tsctr.stderr, args.join(" ")).toBe("");
      expect(r.tsctr, args.join(" ")).toEqual(r.ctr);
    }
    for (const args of [["c", "info"], ["c", "info", "nope"], ["c", "label"], ["c", "rm"], ["c", "ls", "id=="]]) {
      const r = await both(args);
      expect(r.tsctr.code, args.join(" ")).toBe(r.ctr.code);
      expect(r.tsctr.stderr, args.join(" ")).toBe(r.ctr.stderr);
    }

    const lbl = await tsctr(d, ["c", "label", "t1", "a=", "b=2", "flag"], { namespace: "tsctr" });
    expect(lbl).toEqual({ code: 0, stdout: "b=2,flag=true,x<y>&z=v\n", stderr: "" });
    expect((await store.get(tsCtx, "t1")).labels).toEqual({ b: "2", flag: "true", "x<y>&z": "v" });

    const missing = await tsctr(d, ["c", "rm", "nope", "t2"], { namespace: "tsctr" });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^time="[^"]+" level=error msg="failed to delete container \\"nope\\"" error="container \\"nope\\" in namespace \\"tsctr\\": not found"\nctr: container "nope" in namespace "tsctr": not found\n$/);
    expect(kindOf(await store.get(tsCtx, "t2").catch((e: unknown) => e))).toBe("NotFound");
    // With snapshot cleanup, as ctr: t1's snapshot "t1" does not exist, which is fine.
    expect(await tsctr(d, ["c", "rm", "t1"], { namespace: "tsctr" })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(kindOf(await store.get(tsCtx, "t1").catch((e: unknown) => e))).toBe("NotFound");
    expect(await tsctr(d, ["c", "rm", "--keep-snapshot", "t3"], { namespace: "tsctr" })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await store.list(tsCtx)).toEqual([]);
  });

  it("refuses to delete a namespace that holds containers", async () => {
    const nsCtx = withNamespace(background(), "busy");
    await store.create(nsCtx, input("c"));
    const r = await ctr(d, ["namespaces", "rm", "busy"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/namespace "busy" must be empty, but it still has containers/);
    await store.delete(nsCtx, "c");
    expect((await ctr(d, ["namespaces", "rm", "busy"])).code).toBe(0);
  });
});

const emptyPb = {
  id: "",
  labels: {},
  image: "",
  runtime: undefined,
  spec: undefined,
  snapshotter: "",
  snapshotKey: "",
  createdAt: undefined,
  updatedAt: undefined,
  extensions: {},
};
