import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kindOf } from "@containerts/errdefs";
import { DeleteResponse } from "@containerts/api/runtime/task/v2";
import { RuntimeResolver, shimDelete, shimStart, type ShimCommandConfig } from "./shim-binary.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-shimbin-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(path: string, body: string): Promise<string> {
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

async function failure(p: Promise<unknown>): Promise<{ kind: string | undefined; message: string }> {
  return p.then(
    () => {
      throw new Error("expected a failure");
    },
    (err: unknown) => ({ kind: kindOf(err), message: (err as Error).message }),
  );
}

describe("RuntimeResolver", () => {
  it("uses an absolute path as is and reports a missing one as NotFound", async () => {
    const bin = await script(join(dir, "my-shim"), "exit 0");
    const r = new RuntimeResolver({ pathEnv: "", daemonDir: dir });
    expect(await r.resolve(bin)).toBe(bin);
    expect(await failure(r.resolve(join(dir, "missing")))).toMatchObject({ kind: "NotFound", message: expect.stringContaining("invalid custom binary path") });
  });

  it("looks on PATH, then beside the daemon, and caches per binary name", async () => {
    await mkdir(join(dir, "path"));
    await mkdir(join(dir, "daemon"));
    const onPath = await script(join(dir, "path", "containerd-shim-foo-v1"), "exit 0");
    const besideDaemon = await script(join(dir, "daemon", "containerd-shim-bar-v1"), "exit 0");
    const r = new RuntimeResolver({ pathEnv: join(dir, "path"), daemonDir: join(dir, "daemon") });
    expect(await r.resolve("io.example.foo.v1")).toBe(onPath);
    expect(await r.resolve("io.example.bar.v1")).toBe(besideDaemon);
    await rm(onPath);
    expect(await r.resolve("io.other.foo.v1")).toBe(onPath);
  });

  it("rejects malformed names and missing binaries with clear errors", async () => {
    const r = new RuntimeResolver({ pathEnv: dir, daemonDir: dir });
    expect(await failure(r.resolve(""))).toEqual({ kind: "InvalidArgument", message: "no runtime name" });
    expect(await failure(r.resolve("nodots"))).toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining("invalid runtime name nodots") });
    expect(await failure(r.resolve("io.containerd.nope.v1"))).toEqual({
      kind: "NotFound",
      message: 'runtime "io.containerd.nope.v1" binary not installed "containerd-shim-nope-v1": not found',
    });
  });
});

describe("shim commands", () => {
  const config = (): ShimCommandConfig => ({
    address: "/run/x/containerts.sock",
    ttrpcAddress: "/run/x/containerts.sock.ttrpc",
    publishBinary: "/usr/bin/containertsd",
    env: { PATH: process.env["PATH"], KEEP: "me" },
    debug: false,
    schedCore: false,
  });

  it("runs start with containerd's flags, environment, working directory and options on stdin", async () => {
    const bundle = join(dir, "bundle");
    await mkdir(bundle);
    const bin = await script(
      join(dir, "shim"),
      `echo "$@" > args; echo "$TTRPC_ADDRESS $GOMAXPROCS $KEEP" > env; pwd > cwd; cat > stdin; printf '  unix:///run/s/abc\\n'`,
    );
    const address = await shimStart(config(), bin, "ns1", "c1", bundle, { typeUrl: "containerd.runc.v1.Options", value: new Uint8Array([8, 1]) });
    expect(address).toBe("unix:///run/s/abc");
    expect((await readFile(join(bundle, "args"), "utf8")).trim()).toBe(
      "-namespace ns1 -address /run/x/containerts.sock -publish-binary /usr/bin/containertsd -id c1 start",
    );
    expect((await readFile(join(bundle, "env"), "utf8")).trim()).toBe("/run/x/containerts.sock.ttrpc 2 me");
    expect((await readFile(join(bundle, "cwd"), "utf8")).trim()).toBe(bundle);
    const stdin = await readFile(join(bundle, "stdin"));
    expect(stdin.includes(Buffer.from("containerd.runc.v1.Options"))).toBe(true);
  });

  it("reports a failing start with its combined output and exit status", async () => {
    const bin = await script(join(dir, "shim"), "echo something broke >&2; exit 3");
    expect(await failure(shimStart(config(), bin, "ns1", "c1", dir, undefined))).toEqual({
      kind: "Unknown",
      message: "something broke\n: exit status 3",
    });
  });

  it("decodes what delete prints and passes -bundle", async () => {
    const out = join(dir, "out.bin");
    await writeFile(out, DeleteResponse.encode({ pid: 9, exitStatus: 137, exitedAt: { seconds: 100n, nanos: 0 } }).finish());
    const bin = await script(join(dir, "shim"), `echo "$@" > "${dir}/delete-args"; echo warning >&2; cat "${out}"`);
    const r = await shimDelete(config(), bin, "ns1", "c1", join(dir, "gone-bundle"));
    expect(r.exit).toEqual({ pid: 9, exitStatus: 137, exitedAt: new Date(100_000), exitedAtNanos: 0 });
    expect(r.warnings.trim()).toBe("warning");
    expect((await readFile(join(dir, "delete-args"), "utf8")).trim()).toBe(
      `-namespace ns1 -address /run/x/containerts.sock -publish-binary /usr/bin/containertsd -id c1 -bundle ${join(dir, "gone-bundle")} delete`,
    );
  });
});
