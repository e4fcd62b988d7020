import { describe, expect, it } from "vitest";
import { NotFoundError, UnavailableError, kindOf } from "@containerts/errdefs";
import { SPEC_TYPE_URL, specAny, type Container, type ContainerStore } from "@containerts/containers";
import { background, withNamespace, type Context } from "@containerts/namespaces";
import type { PlatformRuntime, RuntimeCreateOptions, RuntimeExecProcess, RuntimeState, RuntimeTask } from "../runtime-types.js";
import { ZERO_TIME, type Exit } from "../task.js";
import { createTaskService } from "./service.js";

const ctx = withNamespace(background(), "ns");

function container(id: string, extra: Partial<Container> = {}): Container {
  return {
    id,
    labels: {},
    image: "",
    runtime: { name: "io.containerd.runc.v2" },
    spec: specAny({ ociVersion: "1.0.2" }),
    snapshotter: "",
    snapshotKey: "",
    createdAt: new Date(),
    updatedAt: new Date(),
    extensions: {},
    ...extra,
  };
}

function store(containers: Container[]): ContainerStore {
  const byId = new Map(containers.map((c) => [c.id, c]));
  return {
    get: async (_ctx: Context, id: string) => {
      const c = byId.get(id);
      if (c === undefined) throw new NotFoundError(`container "${id}" in namespace "ns"`);
      return c;
    },
    list: async () => [...byId.values()],
    create: async () => {
      throw new Error("unused");
    },
    update: async () => {
      throw new Error("unused");
    },
    delete: async () => undefined,
  };
}

const exit: Exit = { pid: 7, exitStatus: 3, exitedAt: new Date(1000), exitedAtNanos: 5 };
const running: RuntimeState = {
  pid: 7,
  status: "running",
  stdin: "",
  stdout: "/out",
  stderr: "",
  terminal: false,
  exitStatus: 0,
  exitedAt: ZERO_TIME,
  exitedAtNanos: 0,
};

/** A runtime whose tasks answer from a script; records the create options. */
class FakeRuntime implements PlatformRuntime {
  readonly tasksById = new Map<string, RuntimeTask>();
  created: RuntimeCreateOptions | undefined;
  stateError: unknown;

  task(id: string): RuntimeTask {
    const state = async () => {
      if (this.stateError !== undefined) throw this.stateError;
      return running;
    };
    const exec: RuntimeExecProcess = {
      id: "e1",
      state,
      kill: async () => undefined,
      resizePty: async () => undefined,
      closeIO: async () => undefined,
      start: async () => undefined,
      wait: async () => exit,
      delete: async () => exit,
    };
    return {
      id,
      namespace: "ns",
      runtime: "io.containerd.runc.v2",
      state,
      kill: async () => undefined,
      resizePty: async () => undefined,
      closeIO: async () => undefined,
      start: async () => undefined,
      wait: async () => exit,
      pid: async () => 7,
      pause: async () => undefined,
      resume: async () => undefined,
      exec: async () => exec,
      process: async (_c, execId) => {
        if (execId !== "e1") throw new NotFoundError(`process does not exist ${execId}`, { bare: true });
        return exec;
      },
      pids: async () => [{ pid: 7 }],
      stats: async () => {
        if (id === "broken") throw new UnavailableError("ttrpc: closed", { bare: true });
        return { typeUrl: "io.containerd.cgroups.v1.Metrics", value: new Uint8Array() };
      },
      update: async () => undefined,
      checkpoint: async () => undefined,
    };
  }

  async create(_ctx: Context, id: string, options: RuntimeCreateOptions): Promise<RuntimeTask> {
    this.created = options;
    const t = this.task(id);
    this.tasksById.set(id, t);
    return t;
  }

  get(_ctx: Context, id: string): RuntimeTask {
    const t = this.tasksById.get(id);
    if (t === undefined) throw new NotFoundError("task does not exist", { bare: true });
    return t;
  }

  tasks(): RuntimeTask[] {
    return [...this.tasksById.values()];
  }

  async delete(_ctx: Context, id: string): Promise<Exit> {
    this.tasksById.delete(id);
    return exit;
  }
}

async function failure(p: Promise<unknown>): Promise<{ kind: string | undefined; message: string }> {
  return p.then(
    () => {
      throw new Error("expected a failure");
    },
    (err: unknown) => ({ kind: kindOf(err), message: (err as Error).message }),
  );
}

describe("tasks service (fake runtime)", () => {
  it("creates with the container's runtime, spec and options, or the request's", async () => {
    const rt = new FakeRuntime();
    const options = { typeUrl: "containerd.runc.v1.Options", value: new Uint8Array([1]) };
    const s = createTaskService({
      containers: store([container("c1", { runtime: { name: "io.containerd.runc.v2", options } }), container("c2")]),
      runtime: rt,
    });
    const mounts = [{ type: "overlay", source: "overlay", target: "", options: ["lowerdir=/a"] }];
    expect(await s.create(ctx, { containerId: "c1", rootfs: mounts, io: { stdout: "/o" } })).toEqual({ containerId: "c1", pid: 7 });
    expect(rt.created).toMatchObject({
      runtime: "io.containerd.runc.v2",
      runtimeOptions: options,
      rootfs: mounts,
      io: { stdin: "", stdout: "/o", stderr: "", terminal: false },
      checkpoint: "",
    });
    expect(rt.created?.taskOptions).toBeUndefined();
    const taskOptions = { typeUrl: "containerd.runc.v1.Options", value: new Uint8Array([2]) };
    await s.create(ctx, { containerId: "c2", options: taskOptions, runtimePath: "/opt/shim" });
    expect(rt.created).toMatchObject({ runtime: "/opt/shim", taskOptions });
  });

  it("answers with containerd's errors", async () => {
    const rt = new FakeRuntime();
    const s = createTaskService({
      containers: store([
        container("c1"),
        container("nojson", { spec: { typeUrl: SPEC_TYPE_URL, value: new TextEncoder().encode("{nope") } }),
        container("v1", { runtime: { name: "io.containerd.runtime.v1.linux" } }),
      ]),
      runtime: rt,
    });
    expect(await failure(s.create(ctx, { containerId: "x" }))).toEqual({ kind: "NotFound", message: 'container "x" in namespace "ns": not found' });
    expect(await failure(s.get(ctx, { containerId: "c1" }))).toEqual({ kind: "NotFound", message: "task c1 not found" });
    expect(await failure(s.delete(ctx, "c1"))).toEqual({ kind: "NotFound", message: "task c1 not found" });
    expect(await failure(s.create(ctx, { containerId: "nojson" }))).toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining("not valid JSON") });
    expect(await failure(s.create(ctx, { containerId: "v1" }))).toMatchObject({ kind: "NotImplemented" });
    expect(rt.created).toBeUndefined();
    await s.create(ctx, { containerId: "c1" });
    expect(await failure(s.create(ctx, { containerId: "c1" }))).toEqual({ kind: "AlreadyExists", message: "task c1: already exists" });
    expect(await failure(s.exec(ctx, { containerId: "c1", execId: "" }))).toEqual({ kind: "InvalidArgument", message: "exec id cannot be empty" });
    expect(await failure(s.exec(ctx, { containerId: "c1", execId: "e2" }))).toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining("spec must be set") });
    expect(await failure(s.get(ctx, { containerId: "c1", execId: "zz" }))).toEqual({ kind: "NotFound", message: "process does not exist zz" });
    expect(await failure(s.checkpoint(ctx, "c1"))).toMatchObject({ kind: "NotImplemented" });
    expect(await failure(s.metrics(ctx, ["id=="]))).toMatchObject({ kind: "Unknown", message: expect.stringContaining("filters: parse error") });
    expect(await failure(s.create(ctx, { containerId: "c1", checkpoint: { mediaType: "x", digest: "sha256:1", size: 1, annotations: {} } }))).toMatchObject({
      kind: "NotImplemented",
    });
  });

  it("reports state, lists, and tolerates a failing shim as UNKNOWN", async () => {
    const rt = new FakeRuntime();
    const s = createTaskService({ containers: store([container("c1"), container("broken")]), runtime: rt });
    await s.create(ctx, { containerId: "c1" });
    await s.create(ctx, { containerId: "broken" });
    expect(await s.get(ctx, { containerId: "c1" })).toEqual({ id: "c1", ...running });
    expect(await s.get(ctx, { containerId: "c1", execId: "e1" })).toMatchObject({ id: "e1", status: "running" });
    expect((await s.list(ctx)).map((p) => p.id)).toEqual(["c1", "broken"]);
    expect(await s.start(ctx, { containerId: "c1" })).toBe(7);
    expect(await s.wait(ctx, { containerId: "c1" })).toEqual(exit);
    expect(await s.deleteProcess(ctx, { containerId: "c1", execId: "e1" })).toEqual({ id: "e1", ...exit });
    expect((await s.metrics(ctx)).map((m) => m.id)).toEqual(["c1"]);
    expect((await s.metrics(ctx, ["id==c1"])).map((m) => m.id)).toEqual(["c1"]);
    expect(await s.metrics(ctx, ["namespace==other"])).toEqual([]);

    rt.stateError = new UnavailableError("ttrpc: closed", { bare: true });
    expect(await s.get(ctx, { containerId: "c1" })).toMatchObject({ id: "c1", status: "unknown", pid: 0, exitedAt: ZERO_TIME });
    rt.stateError = new NotFoundError("", { bare: true });
    expect(await s.list(ctx)).toEqual([]);
    expect(await failure(s.get(ctx, { containerId: "c1" }))).toMatchObject({ kind: "NotFound" });

    expect(await s.delete(ctx, "c1")).toEqual({ id: "", ...exit });
  });
});
