/**
 * `listen(fd)`: serving on an inherited, already listening socket, the way a runtime v2 shim server
 * receives its socket as fd 3 from its `start` process. A child Node process runs the built package
 * (`dist/`, produced by `build`, which turbo runs before `test`) with the socket as its fd 3.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rename, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { connectTtrpcClient } from "./index.js";

const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

const CHILD = `
import { createTtrpcServer } from ${JSON.stringify(dist)};
const server = createTtrpcServer();
server.register("test.v1.Fd", {
  Pid: () => new TextEncoder().encode(String(process.pid)),
  Stop: () => {
    setImmediate(() => void server.shutdown().then(() => process.exit(0)));
    return new Uint8Array(0);
  },
});
await server.listen(3);
process.stdout.write("ready\\n");
`;

describe("listen on an inherited file descriptor", () => {
  let dir = "";
  let child: ChildProcess | undefined;

  afterAll(async () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("serves calls on a listening socket passed as fd 3", async () => {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`pnpm --filter @containerts/ttrpc build\` first`);
    dir = await mkdtemp(join(tmpdir(), "ttrpc-fd-"));
    const bound = join(dir, "bound.sock");
    const served = join(dir, "served.sock");

    // Create the listening socket here and hand a duplicate of its descriptor to the child.
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(bound, resolve));
    const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
    expect(fd).toBeGreaterThan(2);
    const proc = spawn(process.execPath, ["--input-type=module", "-e", CHILD], {
      stdio: ["ignore", "pipe", "pipe", fd],
    });
    child = proc;
    let output = "";
    proc.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.on("data", (d: Buffer) => {
        output += d.toString();
        if (output.includes("ready\n")) resolve();
      });
      proc.once("exit", (code) => reject(new Error(`child exited (${code}) before listening: ${output}`)));
    });
    // Stop listening here without unlinking the socket the child serves: move the name away first
    // (closing a bound unix server removes its path).
    await rename(bound, served);
    await new Promise((resolve) => listener.close(resolve));

    const client = await connectTtrpcClient(served);
    try {
      const pid = new TextDecoder().decode(await client.call("test.v1.Fd", "Pid", new Uint8Array(0)));
      expect(Number(pid)).toBe(proc.pid);
      const exited = new Promise<number | null>((resolve) => proc.once("exit", resolve));
      await client.call("test.v1.Fd", "Stop", new Uint8Array(0));
      expect(await exited).toBe(0);
      expect((await client.closed).local).toBe(false);
    } finally {
      await client.close();
    }
  });
});
