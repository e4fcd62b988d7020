/**
 * containertsd end to end: the built daemon on temp paths, driven by the stock containerd 1.6 `ctr` and by
 * raw gRPC clients for the error cases.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, makeGenericClientConstructor, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { NamespacesClient } from "@containerts/api/services/namespaces/v1";
import { IntrospectionClient } from "@containerts/api/services/introspection/v1";
import { ctr, startContainertsd, containertsdBin, run, type TestDaemon } from "@containerts/testkit";

function grpcCall<Res>(fn: (cb: (e: ServiceError | null, r: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => fn((e, r) => (e ? reject(e) : resolve(r))));
}

describe("containertsd with the stock ctr", () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startContainertsd();
  });
  afterAll(async () => {
    await d?.cleanup();
  });

  it("answers ctr version with the server version and a UUID", async () => {
    const r = await ctr(d, ["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Server:\n {2}Version: {2}\d+\.\d+\.\d+\n {2}Revision: \S+\n {2}UUID: [0-9a-f-]{36}\n/);
  });

  it("lists plugins like ctr plugins ls", async () => {
    const r = await ctr(d, ["plugins", "ls"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TYPE\s+ID\s+PLATFORMS\s+STATUS\s*$/);
    expect(r.stdout).toMatch(/io\.containerd\.grpc\.v1\s+version\s+-\s+ok/);
    expect(r.stdout).toMatch(/io\.containerd\.content\.v1\s+content\s+-\s+ok/);
    const q = await ctr(d, ["plugins", "ls", "-q", "type==io.containerd.grpc.v1"]);
    expect(q.stdout.split("\n")).toContain("introspection");
    expect(q.stdout.split("\n")).not.toContain("bolt");
  });

  it("creates, lists, labels and removes namespaces", async () => {
    expect((await ctr(d, ["namespaces", "create", "nstest", "a=b"])).code).toBe(0);
    let ls = await ctr(d, ["namespaces", "ls"]);
    expect(ls.stdout).toMatch(/^NAME\s+LABELS\s*$/m);
    expect(ls.stdout).toMatch(/^nstest\s+a=b\s*$/m);
    expect((await ctr(d, ["namespaces", "label", "nstest", "c=d"])).code).toBe(0);
    ls = await ctr(d, ["namespaces", "ls"]);
    expect(ls.stdout).toMatch(/^nstest\s+a=b,c=d\s*$/m);
    expect((await ctr(d, ["namespaces", "label", "nstest", "a="])).code).toBe(0);
    ls = await ctr(d, ["namespaces", "ls"]);
    expect(ls.stdout).toMatch(/^nstest\s+c=d\s*$/m);
    const dup = await ctr(d, ["namespaces", "create", "nstest"]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
    const rm1 = await ctr(d, ["namespaces", "rm", "nstest"]);
    expect(rm1.code).toBe(0);
    expect(rm1.stdout).toBe("nstest\n");
    expect((await ctr(d, ["namespaces", "ls", "-q"])).stdout.split("\n")).not.toContain("nstest");
  });

  it("rejects bad input with INVALID_ARGUMENT naming the field, and keeps serving", async () => {
    const target = `unix://${d.address}`;
    const ns = new NamespacesClient(target, credentials.createInsecure());
    const intro = new IntrospectionClient(target, credentials.createInsecure());
    try {
      const md = new Metadata();
      const bad = await grpcCall((cb) => ns.create({ namespace: { name: "bad name!", labels: {} } }, md, cb)).catch((e: ServiceError) => e);
      expect((bad as ServiceError).code).toBe(status.INVALID_ARGUMENT);
      expect((bad as ServiceError).details).toMatch(/identifier "bad name!" must match/);

      const long = await grpcCall((cb) => ns.create({ namespace: { name: "longlabel", labels: { key: "v".repeat(5000) } } }, md, cb)).catch((e: ServiceError) => e);
      expect((long as ServiceError).code).toBe(status.INVALID_ARGUMENT);
      expect((long as ServiceError).details).toMatch(/label key and value greater than maximum size \(4096 bytes\), key: key/);

      const filt = await grpcCall((cb) => intro.plugins({ filters: ["id=="] }, md, cb)).catch((e: ServiceError) => e);
      expect((filt as ServiceError).code).toBe(status.INVALID_ARGUMENT);
      expect((filt as ServiceError).details).toMatch(/filters: parse error/);

      const upd = await grpcCall((cb) => ns.update({ namespace: { name: "x", labels: {} }, updateMask: ["name"] }, md, cb)).catch((e: ServiceError) => e);
      expect((upd as ServiceError).code).toBe(status.INVALID_ARGUMENT);
      expect((upd as ServiceError).details).toMatch(/cannot update "name" field/);

      const missing = await grpcCall((cb) => ns.delete({ name: "never-created" }, md, cb)).catch((e: ServiceError) => e);
      expect((missing as ServiceError).code).toBe(status.NOT_FOUND);

      const got = await grpcCall<{ namespace?: { name: string } | undefined }>((cb) => ns.get({ name: "unknown-ns" }, md, cb));
      expect(got.namespace?.name).toBe("unknown-ns");

      const plugins = await grpcCall<{ plugins: unknown[] }>((cb) => intro.plugins({ filters: [] }, md, cb));
      expect(plugins.plugins.length).toBeGreaterThan(3);
    } finally {
      ns.close();
      intro.close();
    }
  });

  it("answers UNIMPLEMENTED for an RPC it does not serve, and keeps serving", async () => {
    // A service containerd 1.6 does not have (1.7's sandbox store), called through a generic client.
    const Generic = makeGenericClientConstructor(
      {
        list: {
          path: "/containerd.services.sandbox.v1.Store/List",
          requestStream: false,
          responseStream: false,
          requestSerialize: (v: Buffer) => v,
          requestDeserialize: (v: Buffer) => v,
          responseSerialize: (v: Buffer) => v,
          responseDeserialize: (v: Buffer) => v,
        },
      },
      "containerd.services.sandbox.v1.Store",
    );
    const client = new Generic(`unix://${d.address}`, credentials.createInsecure()) as unknown as {
      list(req: Buffer, md: Metadata, cb: (e: ServiceError | null, r: Buffer) => void): void;
      close(): void;
    };
    try {
      const md = new Metadata();
      md.set("containerd-namespace", "default");
      const err = await grpcCall((cb) => client.list(Buffer.alloc(0), md, cb)).catch((e: ServiceError) => e);
      expect((err as ServiceError).code).toBe(status.UNIMPLEMENTED);
    } finally {
      client.close();
    }
    expect((await ctr(d, ["version"])).code).toBe(0);
  });

  it("serves the gRPC socket with mode 0660 and a ttrpc socket beside it", () => {
    expect(statSync(d.address).mode & 0o777).toBe(0o660);
    expect(statSync(`${d.address}.ttrpc`).isSocket()).toBe(true);
  });

  it("writes JSON-lines logs", () => {
    const lines = d.logs().trim().split("\n");
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) {
      const o = JSON.parse(l) as Record<string, unknown>;
      expect(typeof o["time"]).toBe("string");
      expect(typeof o["level"]).toBe("string");
      expect(typeof o["msg"]).toBe("string");
    }
    expect(d.logs()).toContain("containertsd successfully booted");
  });
});

describe("containertsd lifecycle", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  });

  it("refuses a second daemon on the same socket or the same root", async () => {
    const d = await startContainertsd();
    cleanups.push(() => d.cleanup());
    const sameSocket = await run(containertsdBin, ["--root", join(d.dir, "root2"), "--state", join(d.dir, "state2"), "--address", d.address, "--config", "/dev/null"]);
    expect(sameSocket.code).toBe(1);
    expect(sameSocket.stderr).toMatch(/another daemon is serving on/);
    const sameRoot = await run(containertsdBin, ["--root", d.root, "--state", join(d.dir, "state3"), "--address", join(d.dir, "other.sock"), "--config", "/dev/null"]);
    expect(sameRoot.code).toBe(1);
    expect(sameRoot.stderr).toMatch(/root .* is in use by another containertsd \(pid \d+\)/);
    expect((await ctr(d, ["version"])).code).toBe(0);
  });

  it("replaces a stale socket file, stops gracefully on SIGTERM and keeps its UUID across restarts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ctsd-stale-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // A socket file nobody listens on (its creator exited without removing it).
    const mk = spawnSync("python3", ["-c", `import socket; s=socket.socket(socket.AF_UNIX); s.bind("${join(dir, "s.sock")}")`]);
    expect(mk.status).toBe(0);
    expect(existsSync(join(dir, "s.sock"))).toBe(true);
    const d1 = await startContainertsd({ dir });
    cleanups.push(() => d1.cleanup());
    const uuid1 = /UUID: (\S+)/.exec((await ctr(d1, ["version"])).stdout)?.[1];
    expect(await d1.stop()).toBe(0);
    expect(d1.logs()).toContain("containertsd stopped");
    const d2 = await startContainertsd({ dir });
    cleanups.push(() => d2.cleanup());
    const uuid2 = /UUID: (\S+)/.exec((await ctr(d2, ["version"])).stdout)?.[1];
    expect(uuid2).toBe(uuid1);
    expect((await readFile(join(dir, "root", "io.containerd.grpc.v1.introspection", "uuid"), "utf8")).trim()).toBe(uuid1);
  });

  it("takes over the root of a killed daemon that is still a zombie", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ctsd-zombie-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // The parent starts the daemon and never reaps it (Python's Popen only reaps on wait/poll), so once
    // killed the daemon stays a zombie.
    const parentScript = [
      "import subprocess, sys, time",
      `p = subprocess.Popen(["${containertsdBin}", "--root", "${dir}/root", "--state", "${dir}/state", "--address", "${dir}/a.sock", "--config", "/dev/null"], stderr=subprocess.DEVNULL)`,
      "print(p.pid, flush=True)",
      "time.sleep(30)",
    ].join("\n");
    const sh = spawn("python3", ["-c", parentScript], { stdio: ["ignore", "pipe", "ignore"] });
    cleanups.push(async () => {
      sh.kill("SIGKILL");
    });
    const pid = await new Promise<number>((resolve) => sh.stdout.once("data", (b: Buffer) => resolve(Number.parseInt(b.toString(), 10))));
    for (let i = 0; i < 200 && !existsSync(join(dir, "a.sock")); i++) await new Promise((r) => setTimeout(r, 25));
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100; i++) {
      const st = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
      if (st.includes(") Z ")) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await readFile(`/proc/${pid}/stat`, "utf8")).toContain(") Z ");
    const d = await startContainertsd({ dir, args: [] });
    cleanups.push(() => d.cleanup());
    expect((await ctr(d, ["version"])).code).toBe(0);
  });

  it("takes relative --root, --state and --address against its working directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ctsd-rel-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const p = spawn(containertsdBin, ["--root", "r", "--state", "s", "--address", "sub/d.sock", "--config", "/dev/null"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const exited = new Promise<number | null>((resolve) => p.once("exit", (code) => resolve(code)));
    cleanups.push(async () => {
      if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
      await exited;
    });
    const sock = join(dir, "sub", "d.sock");
    for (let i = 0; i < 400 && !existsSync(sock) && p.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
    const v = await run("ctr", ["--address", sock, "version"]);
    expect(v.code, `${v.stderr}\n${stderr}`).toBe(0);
    expect(existsSync(join(dir, "sub", "d.sock.ttrpc"))).toBe(true);
    expect(statSync(join(dir, "r")).isDirectory()).toBe(true);
    expect(statSync(join(dir, "s")).isDirectory()).toBe(true);
    p.kill("SIGTERM");
    expect(await exited).toBe(0);

    const same = await run(containertsdBin, ["--root", join(dir, "x"), "--state", join(dir, "y", "..", "x"), "--address", join(dir, "x.sock"), "--config", "/dev/null"]);
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/root and state must be different paths/);
  });

  it("reads containerd's TOML config: address, disabled plugins, unknown keys warned", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ctsd-cfg-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const d = await startContainertsd({
      dir,
      config: ['disabled_plugins = ["io.containerd.grpc.v1.healthcheck"]', "bogus_key = 1", "[grpc]", "  no_such_option = true"].join("\n"),
    });
    cleanups.push(() => d.cleanup());
    const ls = await ctr(d, ["plugins", "ls", "-q"]);
    expect(ls.stdout.split("\n")).not.toContain("healthcheck");
    expect(d.logs()).toMatch(/unknown configuration key, ignored.*"key":"bogus_key"/);
    expect(d.logs()).toMatch(/"key":"grpc.no_such_option"/);
  });

  it("loads external plugins from packages named in the config, and fails clearly when one is missing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ctsd-ext-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const pkg = join(dir, "ext-plugin");
    await mkdir(pkg);
    await writeFile(join(pkg, "package.json"), JSON.stringify({ name: "ext-plugin", type: "module", main: "index.js" }));
    await writeFile(
      join(pkg, "index.js"),
      'export const plugins = [{ type: "io.containerd.internal.v1", id: "hello", init: async (ic) => { ic.meta.exports.greeting = "hi"; return {}; } }];\n',
    );
    const d = await startContainertsd({ dir, config: `external_plugins = ["${join(pkg, "index.js")}"]` });
    cleanups.push(() => d.cleanup());
    const ls = await ctr(d, ["plugins", "ls", "-d", "id==hello"]);
    expect(ls.stdout).toMatch(/io\.containerd\.internal\.v1/);
    expect(ls.stdout).toMatch(/greeting\s+hi/);
    await d.stop();

    const bad = await run(containertsdBin, ["--root", join(dir, "r2"), "--state", join(dir, "s2"), "--address", join(dir, "b.sock"), "--config", join(dir, "bad.toml")], {});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/config file .*bad\.toml: not found/);
    await writeFile(join(dir, "bad.toml"), 'external_plugins = ["no-such-containerts-plugin-package"]\n');
    const bad2 = await run(containertsdBin, ["--root", join(dir, "r2"), "--state", join(dir, "s2"), "--address", join(dir, "b.sock"), "--config", join(dir, "bad.toml")]);
    expect(bad2.code).toBe(1);
    expect(bad2.stderr).toMatch(/no-such-containerts-plugin-package/);
  });

  it("prints its default configuration", async () => {
    const r = await run(containertsdBin, ["config", "default"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^version = 2$/m);
    expect(r.stdout).toMatch(/address = "\/run\/containerts\/containerts.sock"/);
  });
});

// Keep `spawn` referenced for helpers that add streaming tests to this file.
void spawn;
