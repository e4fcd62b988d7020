/**
 * Interop with the stock runtime v2 shim (`containerd-shim-runc-v2` 1.6): start it the way containerd
 * does (api-compat §7.2), then drive its `containerd.task.v2.Task` ttrpc service with our client.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants, existsSync, openSync, readFileSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { isNotFound, isNotImplemented } from "@containerts/errdefs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TtrpcClient, connectTtrpcClient, isTtrpcClosed, unaryMethod } from "./index.js";

const SHIM = "containerd-shim-runc-v2";
const TASK = "containerd.task.v2.Task";

// Hand-encoded shim messages (runtime/v2/task/shim.proto).
interface ConnectResponse {
  shimPid: number;
  taskPid: number;
  version: string;
}
const encodeId = (m: { id: string }): Uint8Array => new BinaryWriter().tag(1, WireType.LengthDelimited).string(m.id).finish();
const encodeShutdown = (m: { id: string; now: boolean }): Uint8Array => {
  const w = new BinaryWriter().tag(1, WireType.LengthDelimited).string(m.id);
  if (m.now) w.tag(2, WireType.Varint).bool(true);
  return w.finish();
};
const decodeConnectResponse = (b: Uint8Array): ConnectResponse => {
  const r = new BinaryReader(b);
  const m: ConnectResponse = { shimPid: 0, taskPid: 0, version: "" };
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1) m.shimPid = r.uint32();
    else if (no === 2) m.taskPid = r.uint32();
    else if (no === 3) m.version = r.string();
    else r.skip(wt);
  }
  return m;
};
const ignore = (): undefined => undefined;

const connect = unaryMethod(TASK, "Connect", encodeId, decodeConnectResponse);
const state = unaryMethod(TASK, "State", encodeId, (b) => b);
const shutdown = unaryMethod(TASK, "Shutdown", encodeShutdown, ignore);

function findInPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, bin);
    if (dir !== "" && existsSync(p)) return p;
  }
  return undefined;
}

/** "alive" (running or sleeping), "zombie", or "gone". */
function processState(pid: number): "alive" | "zombie" | "gone" {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z") ? "zombie" : "alive";
  } catch {
    return "gone";
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (processState(pid) !== "alive") return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return processState(pid) !== "alive";
}

/** PIDs of shim processes whose working directory is our bundle (those we started, however we lost track). */
function shimsInBundle(bundle: string, shimPath: string): number[] {
  const exe = realpathSync(shimPath);
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) !== bundle) continue;
      if (readlinkSync(`/proc/${entry}/exe`) !== exe) continue;
      pids.push(Number(entry));
    } catch {
      // gone or not ours to read
    }
  }
  return pids;
}

/** Runs `shim … start` as containerd does and returns its trimmed combined output. */
function startShim(shimPath: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    // stdin must be at EOF: the shim reads task options from it until EOF.
    const child = spawn(shimPath, [...args, "start"], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output.trim());
      else reject(new Error(`${SHIM} start failed (${signal ?? `exit status ${code}`}): ${output}`));
    });
  });
}

describe(`ttrpc interop with the stock ${SHIM}`, () => {
  const shimPath = findInPath(SHIM);
  const ns = "ttrpc-interop";
  const id = `t${randomBytes(6).toString("hex")}`;
  let root = "";
  let bundle = "";
  let shimArgs: string[] = [];
  let socketPath = "";
  let logReader: net.Socket | undefined;
  let log = "";
  let client: TtrpcClient | undefined;
  let shimPid = 0;

  beforeAll(async () => {
    if (shimPath === undefined) throw new Error(`${SHIM} is not installed (PATH=${process.env.PATH}); this test needs it`);
    root = await mkdtemp(join(tmpdir(), "ttrpc-shim-"));
    bundle = join(root, ns, id);
    await mkdir(bundle, { recursive: true });
    await writeFile(join(bundle, "config.json"), JSON.stringify({ ociVersion: "1.0.2" }));
    // The shim server writes its log to the `log` FIFO in the bundle; read it as the daemon does.
    await promisify(execFile)("mkfifo", ["-m", "0600", join(bundle, "log")]);
    const fd = openSync(join(bundle, "log"), constants.O_RDWR | constants.O_NONBLOCK);
    logReader = new net.Socket({ fd, readable: true, writable: false });
    logReader.on("data", (d: Buffer) => (log += d.toString()));
    logReader.on("error", () => {});

    const address = join(root, "containerd.sock"); // never created: only hashed into the shim socket name
    shimArgs = ["-namespace", ns, "-address", address, "-publish-binary", "/bin/true", "-id", id];
    const out = await startShim(shimPath, shimArgs, bundle, { ...process.env, TTRPC_ADDRESS: `${address}.ttrpc` });
    expect(out).toMatch(/^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
    socketPath = out.slice("unix://".length);
    expect(await readFile(join(bundle, "address"), "utf8")).toBe(out);
  });

  afterAll(async () => {
    await client?.close();
    if (shimPath !== undefined && bundle !== "") {
      const pids = new Set([...(shimPid > 0 ? [shimPid] : []), ...shimsInBundle(bundle, shimPath)]);
      let killed = false;
      for (const pid of pids) {
        if (processState(pid) === "alive") {
          process.kill(pid, "SIGKILL");
          killed = true;
          await waitForExit(pid, 5000);
        }
      }
      if (killed) {
        // Clean up as containerd does for a dead shim (api-compat §7.7).
        await new Promise<void>((resolve) => {
          const del = spawn(shimPath, [...shimArgs, "-bundle", bundle, "delete"], {
            cwd: bundle,
            stdio: "ignore",
          });
          del.on("error", () => resolve());
          del.on("close", () => resolve());
        });
      }
    }
    logReader?.destroy();
    if (socketPath !== "") await rm(socketPath, { force: true });
    if (root !== "") await rm(root, { recursive: true, force: true });
  });

  it("Connect reports the shim's pid, a live process", async () => {
    client = await connectTtrpcClient(socketPath, { timeoutMs: 10_000 });
    const res = await connect(client, { id }, { timeoutMs: 5000 });
    shimPid = res.shimPid;
    expect(res.shimPid).toBeGreaterThan(0);
    expect(res.taskPid).toBe(0); // no container created
    expect(processState(res.shimPid)).toBe("alive");
    expect(readFileSync(`/proc/${res.shimPid}/cmdline`, "utf8").split("\0")[0]).toContain(SHIM);
    expect(readlinkSync(`/proc/${res.shimPid}/cwd`)).toBe(bundle);
  });

  it("State of a container that was never created fails with NotFound", async () => {
    const err = await state(client!, { id }, { timeoutMs: 5000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err, log).toBeDefined();
    expect(isNotFound(err)).toBe(true);
    expect(err!.message).toContain("container not created: not found");
  });

  it("the Go server answers Unimplemented for an unknown method and service", async () => {
    const method = await client!.call(TASK, "NoSuchMethod", new Uint8Array(0)).catch((e: Error) => e);
    expect(isNotImplemented(method)).toBe(true);
    expect((method as Error).message).toBe("method NoSuchMethod");
    const service = await client!.call("no.such.Service", "X", new Uint8Array(0)).catch((e: Error) => e);
    expect(isNotImplemented(service)).toBe(true);
    expect((service as Error).message).toBe("service no.such.Service");
  });

  it("Shutdown{now} makes the shim exit and close the connection", async () => {
    expect(shimPid, "Connect must have succeeded").toBeGreaterThan(0);
    // The shim may exit before its reply is written; containerd ignores `ttrpc: closed` here too.
    await shutdown(client!, { id, now: true }, { timeoutMs: 5000 }).catch((e: unknown) => {
      if (!isTtrpcClosed(e)) throw e;
    });
    const closed = await client!.closed;
    expect(closed.local).toBe(false);
    expect(await waitForExit(shimPid, 15_000), `shim ${shimPid} still running; log:\n${log}`).toBe(true);
    expect(existsSync(socketPath)).toBe(false); // the shim removes its socket on exit
  });
});
