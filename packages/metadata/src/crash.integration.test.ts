/**
 * Crash safety: a child process performs durable updates on a classic-level database and is killed
 * with SIGKILL; the database then opens cleanly and holds every update the child saw acknowledged.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";

import { nsCtx } from "../test/helpers.js";
import { DB } from "./db.js";
import { key } from "./schema.js";

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));

async function ackCount(file: string): Promise<number> {
  try {
    return (await readFile(file, "utf8")).split("\n").filter((l) => l !== "").length;
  } catch {
    return 0;
  }
}

describe("crash safety", () => {
  let dir: string | undefined;
  let child: ChildProcess | undefined;

  afterEach(async () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, "SIGKILL");
      await new Promise((r) => child?.once("exit", r));
    }
    child = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("keeps every acknowledged update after SIGKILL and reopens cleanly", async () => {
    dir = await mkdtemp(join(tmpdir(), "containerts-metadata-crash-"));
    const dbDir = join(dir, "meta.level");
    const acks = join(dir, "acks");
    let stderr = "";
    const proc = spawn(process.execPath, [join(packageDir, "test", "crash-child.mjs"), dbDir, acks], {
      cwd: packageDir,
      stdio: ["ignore", "ignore", "pipe"],
    });
    child = proc;
    proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once("exit", (code, signal) => resolve({ code, signal })),
    );

    // Let it acknowledge a good number of updates, then kill it mid-flight.
    const deadline = Date.now() + 50_000;
    while ((await ackCount(acks)) < 300) {
      if (proc.exitCode !== null) throw new Error(`crash child exited early (${proc.exitCode}): ${stderr}`);
      if (Date.now() > deadline) throw new Error(`crash child made no progress: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    process.kill(proc.pid!, "SIGKILL");
    expect((await exited).signal).toBe("SIGKILL");

    const acked = (await readFile(acks, "utf8"))
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
    expect(acked.length).toBeGreaterThanOrEqual(300);
    expect((await stat(dbDir)).isDirectory()).toBe(true);

    const db = await DB.open(new Level<string, string>(dbDir));
    try {
      const leaseIds = new Set((await db.leaseManager().list(nsCtx("crash"))).map((l) => l.id));
      const missing: number[] = [];
      await db.view(async (tx) => {
        for (const i of acked) {
          if (i % 10 === 0) {
            if (!leaseIds.has(`lease-${i}`)) missing.push(i);
          } else if ((await tx.get(key("crash", String(i).padStart(8, "0")))) !== `value-${i}`) {
            missing.push(i);
          }
        }
      });
      expect(missing).toEqual([]);
      // The reopened database is fully usable.
      await db.update((tx) => tx.put(key("crash", "after"), "ok"));
      expect(await db.view((tx) => tx.get(key("crash", "after")))).toBe("ok");
    } finally {
      await db.close();
    }
  });
});
