/**
 * A Debian `docker-registry` (distribution 2.8) for tests: its own temp storage, a free 127.0.0.1 port,
 * optional htpasswd (basic) authentication; stopped by PID.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";

/** A running registry. */
export interface TestRegistry {
  /** `127.0.0.1:<port>`, the host part of image references. */
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly pid: number;
  logs(): string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Starts docker-registry; `auth` enables htpasswd basic authentication with one user. */
export async function startRegistry(opts: { auth?: { username: string; password: string } } = {}): Promise<TestRegistry> {
  if (spawnSync("sh", ["-c", "command -v docker-registry"]).status !== 0) {
    throw new Error("docker-registry is not installed: run ./quickstart.sh setup (Debian package docker-registry)");
  }
  const dir = await mkdtemp(join(tmpdir(), "registry-"));
  const port = await freePort();
  const lines = [
    "version: 0.1",
    "log:",
    "  level: warn",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${join(dir, "data")}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
  ];
  if (opts.auth) {
    const hash = bcrypt.hashSync(opts.auth.password, 5);
    await writeFile(join(dir, "htpasswd"), `${opts.auth.username}:${hash}\n`);
    lines.push("auth:", "  htpasswd:", "    realm: test-realm", `    path: ${join(dir, "htpasswd")}`);
  }
  await writeFile(join(dir, "config.yml"), `${lines.join("\n")}\n`);
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (out += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await new Promise<void>((r) => {
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(t);
          r();
        });
      });
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry exited: ${out}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not start on ${port}: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host: `127.0.0.1:${port}`, port, dir, pid: child.pid ?? -1, logs: () => out, stop };
}
