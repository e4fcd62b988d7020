/**
 * The containerd 1.6 Go client's standard flow (api-compat.md §6) against containertsd: NewContainer with
 * WithNewSnapshot and WithNewSpec(WithImageConfig), NewTask with cio.WithStdio, Wait, Start, the exit,
 * task Delete, container Delete with WithSnapshotCleanup. The program (packages/tasks/test/goclient) is
 * built in GOPATH mode against Debian's containerd source and cached under the temp dir by source hash.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shimPidsFor, waitFor } from "@containerts/tasks/testsuite";
import { ctr, repoRoot, run, type TestDaemon } from "@containerts/testkit";
import { BUSYBOX, RUNTIMES, TSRUNC_V1, cleanupDaemon, importBusybox, requireTsShim, startDaemon, uniqueNamespace } from "./helpers.js";

const ns = uniqueNamespace("go");
const source = join(repoRoot, "packages/tasks/test/goclient");
const gopathSrc = "/usr/share/gocode/src/github.com/containerd/containerd/client.go";

/** Builds the Go program (or reuses the cached binary) and returns its path. */
function buildGoClient(): string {
  const go = spawnSync("sh", ["-c", "command -v go"], { encoding: "utf8" }).stdout.trim();
  if (go === "") throw new Error("go is not installed: install the Debian package golang-go (./quickstart.sh setup)");
  if (!existsSync(gopathSrc)) {
    throw new Error("containerd's Go source is missing: install golang-github-containerd-containerd-dev (./quickstart.sh setup)");
  }
  const hash = createHash("sha256").update(readFileSync(join(source, "main.go"))).update(spawnSync(go, ["version"], { encoding: "utf8" }).stdout).digest("hex");
  const dir = join(tmpdir(), `containerts-goclient-${hash.slice(0, 16)}`);
  const bin = join(dir, "goclient");
  if (existsSync(bin)) return bin;
  mkdirSync(join(dir, "gopath"), { recursive: true });
  mkdirSync(join(dir, "cache"), { recursive: true });
  const tmpBin = `${bin}.${process.pid}`;
  const r = spawnSync(go, ["build", "-o", tmpBin, "."], {
    cwd: source,
    encoding: "utf8",
    env: { ...process.env, GO111MODULE: "off", GOPATH: `/usr/share/gocode:${join(dir, "gopath")}`, GOCACHE: join(dir, "cache"), GOFLAGS: "" },
  });
  if (r.status !== 0) throw new Error(`building the Go client failed:\n${r.stderr}${r.stdout}`);
  renameSync(tmpBin, bin);
  return bin;
}

describe("the containerd Go client's standard flow", () => {
  let d: TestDaemon | undefined;
  let goclient = "";

  beforeAll(async () => {
    requireTsShim();
    goclient = buildGoClient();
    d = await startDaemon();
    await importBusybox(d, ns);
  });

  afterAll(async () => {
    await cleanupDaemon(d, [ns]);
  });

  it.each(RUNTIMES)("runs a container to its exit code with %s, then removes it and its snapshot", async (runtime) => {
    if (d === undefined) throw new Error("no daemon");
    const id = runtime === TSRUNC_V1 ? "go-ts" : "go-rc";
    const r = await run(
      goclient,
      ["-address", d.address, "-namespace", ns, "-image", BUSYBOX, "-id", id, "-runtime", runtime, "sh", "-c", "echo hello from go; exit 3"],
      { timeoutMs: 60_000 },
    );
    expect(r.stderr).not.toContain("goclient: ");
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain("hello from go");

    expect((await ctr(d, ["containers", "ls", "-q"], { namespace: ns })).stdout).not.toContain(id);
    expect((await ctr(d, ["tasks", "ls"], { namespace: ns })).stdout).not.toContain(id);
    expect((await ctr(d, ["snapshots", "ls"], { namespace: ns })).stdout).not.toContain(id);
    const address = d.address;
    expect(await waitFor(() => shimPidsFor(address).length === 0, 10_000)).toBe(true);
  });

  it("uses the client's default runtime (io.containerd.runc.v2) when none is given", async () => {
    if (d === undefined) throw new Error("no daemon");
    const r = await run(goclient, ["-address", d.address, "-namespace", ns, "-image", BUSYBOX, "-id", "go-default", "sh", "-c", "exit 0"], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
  });
});
