/**
 * The shim manager on its own, with the stock containerd-shim-runc-v2: re-adoption when a manager opens a
 * state directory with running shims (as after a daemon restart), clean-up of bundles whose shim is gone,
 * of empty bundles and orphaned work directories, and the events published for a shim that dies.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { specAny } from "@containerts/containers";
import type { EventPayload, Publisher } from "@containerts/events";
import { background, withNamespace } from "@containerts/namespaces";
import type { TtrpcServer } from "@containerts/ttrpc";
import { ShimManager, type ShimManagerOptions, type ShimTask } from "../src/runtime/index.js";
import type { Mount } from "../src/index.js";
import {
  alive,
  busyboxSpec,
  cleanupCgroups,
  cleanupRunc,
  killPids,
  makeBusyboxRootfs,
  removeShimSocket,
  shimPidsFor,
  unmountUnder,
  waitFor,
} from "../src/testsuite/index.js";
import { RUNC_V2, startEventRecorder, type RecordedEvent } from "./harness.js";

describe("ShimManager", () => {
  let dir = "";
  let rootfs = "";
  let recorder: TtrpcServer | undefined;
  const managers: ShimManager[] = [];
  const namespace = `tm${process.pid}x${Math.floor(Math.random() * 1e6)}`;
  const ctx = withNamespace(background(), namespace);
  const published: { topic: string; event: EventPayload }[] = [];
  const publisher: Publisher = { publish: async (_ctx, topic, event) => void published.push({ topic, event }) };
  let options: ShimManagerOptions;
  const sockets: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cts-manager-"));
    rootfs = join(dir, "busybox");
    await makeBusyboxRootfs(rootfs);
    const address = join(dir, "grpc.sock");
    recorder = await startEventRecorder(`${address}.ttrpc`, [] as RecordedEvent[]);
    options = {
      root: join(dir, "root"),
      state: join(dir, "state"),
      address,
      ttrpcAddress: `${address}.ttrpc`,
      publishBinary: "/bin/false",
      publisher,
    };
  });

  afterAll(async () => {
    for (const m of managers) await m.close();
    killPids(shimPidsFor(options.address));
    await waitFor(() => shimPidsFor(options.address).length === 0, 5000);
    await cleanupRunc(namespace);
    cleanupCgroups(namespace);
    for (const s of sockets) await removeShimSocket(s);
    await recorder?.shutdown().catch(() => undefined);
    unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  });

  async function open(): Promise<ShimManager> {
    const m = await ShimManager.open(options);
    managers.push(m);
    return m;
  }

  async function overlay(id: string): Promise<Mount[]> {
    const snap = join(dir, "snapshots", id);
    await mkdir(join(snap, "fs"), { recursive: true });
    await mkdir(join(snap, "work"), { recursive: true });
    return [{ type: "overlay", source: "overlay", target: "", options: [`workdir=${snap}/work`, `upperdir=${snap}/fs`, `lowerdir=${rootfs}`] }];
  }

  async function run(m: ShimManager, id: string): Promise<ShimTask> {
    const t = (await m.create(ctx, id, {
      spec: specAny(busyboxSpec(namespace, id, ["sleep", "1000"])),
      rootfs: await overlay(id),
      io: { stdin: "", stdout: "", stderr: "", terminal: false },
      checkpoint: "",
      runtime: RUNC_V2,
    })) as ShimTask;
    await t.start(ctx);
    sockets.push(await readFile(join(options.state, namespace, id, "address"), "utf8"));
    return t;
  }

  const bundle = (id: string) => join(options.state, namespace, id);
  const work = (id: string) => join(options.root, namespace, id);

  it("re-adopts live shims and cleans up dead ones, empty bundles and orphaned work dirs", async () => {
    const first = await open();
    const a = await run(first, "a");
    const b = await run(first, "b");
    const aPid = await a.pid(ctx);
    const { shimPid: bShim } = await b.connect(ctx);
    const bPid = await b.pid(ctx);
    await first.close();
    expect(alive(aPid)).toBe(true);

    // While no manager runs: b's shim dies, an empty bundle and an orphaned work dir appear.
    process.kill(bShim, "SIGKILL");
    await waitFor(() => !alive(bShim));
    await mkdir(bundle("empty"), { recursive: true });
    await mkdir(work("orphan"), { recursive: true });
    await writeFile(join(work("orphan"), "junk"), "x");

    const second = await open();
    expect(second.tasks(ctx, false).map((t) => t.id)).toEqual(["a"]);
    expect((await second.get(ctx, "a").state(ctx)).status).toBe("running");
    expect(await second.get(ctx, "a").pid(ctx)).toBe(aPid);
    // b: the delete command ran (runc container force-deleted), bundle and work dir gone, no events.
    expect(await waitFor(() => !alive(bPid), 5000)).toBe(true);
    for (const p of [bundle("b"), work("b"), bundle("empty"), work("orphan")]) expect(existsSync(p)).toBe(false);
    expect(published).toEqual([]);

    await second.get(ctx, "a").kill(ctx, 9, false);
    expect((await second.get(ctx, "a").wait(ctx)).exitStatus).toBe(137);
    expect((await second.delete(ctx, "a")).exitStatus).toBe(137);
    expect(existsSync(bundle("a"))).toBe(false);
    expect(second.tasks(ctx, true)).toEqual([]);
  });

  it("publishes /tasks/exit and /tasks/delete for a shim that dies while it runs a task", async () => {
    const m = await open();
    const c = await run(m, "c");
    const { shimPid } = await c.connect(ctx);
    process.kill(shimPid, "SIGKILL");
    expect(await waitFor(() => published.length >= 2, 15_000)).toBe(true);
    expect(published.map((p) => p.topic)).toEqual(["/tasks/exit", "/tasks/delete"]);
    expect(published[0]?.event).toMatchObject({ typeUrl: "containerd.events.TaskExit", message: { containerId: "c", id: "c", exitStatus: 137 } });
    expect(published[1]?.event).toMatchObject({ typeUrl: "containerd.events.TaskDelete", message: { containerId: "c", exitStatus: 137, id: "" } });
    expect(m.tasks(ctx, false)).toEqual([]);
    expect(existsSync(bundle("c"))).toBe(false);
    expect(() => m.get(ctx, "c")).toThrow(/task does not exist/);
  });

  it("refuses a second task with the same id while the first is being created", async () => {
    const m = await open();
    const create = (id: string) =>
      m.create(ctx, id, {
        spec: specAny(busyboxSpec(namespace, id, ["true"])),
        rootfs: [],
        io: { stdin: "", stdout: "", stderr: "", terminal: false },
        checkpoint: "",
        runtime: "io.containerd.nope.v1",
      });
    const results = await Promise.allSettled([create("d"), create("d")]);
    expect(results.map((r) => (r.status === "rejected" ? (r.reason as Error).message : "ok")).sort()).toEqual([
      'failed to start shim: failed to resolve runtime path: runtime "io.containerd.nope.v1" binary not installed "containerd-shim-nope-v1": not found',
      "task d: already exists",
    ]);
    expect(existsSync(bundle("d"))).toBe(false);
  });
});
