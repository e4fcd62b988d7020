/**
 * The reaper next to Node's child_process: orphans re-parented to this (subreaper) process are reaped
 * with their statuses, and Node's own children still get their exit events.
 */
import { isChildSubreaper, setChildSubreaper } from "@containerts/sys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "./log.js";
import { type Exit, Reaper } from "./reaper.js";

const reaper = new Reaper(silentLogger);
const wasSubreaper = isChildSubreaper();

beforeAll(() => {
  // Each vitest file runs in its own worker process; making it a subreaper only affects that process.
  if (!wasSubreaper) setChildSubreaper();
  reaper.start();
});

afterAll(() => {
  reaper.stop();
});

function orphans(script: string): Promise<{ code: number; pids: number[] }> {
  // `sh` starts background processes, prints their pids and exits: they are re-parented to us.
  return reaper.run("sh", ["-c", script]).then((r) => ({ code: r.code, pids: r.stdout.trim().split(/\s+/).map(Number) }));
}

describe("Reaper", () => {
  it("reaps orphans with exit codes and 128 + signal, leaving Node's children alone", async () => {
    const exits: Exit[] = [];
    const unsubscribe = reaper.subscribe((e) => exits.push(e));
    try {
      const { code, pids } = await orphans("(sleep 0.1; exit 9) & a=$!; sh -c 'sleep 0.2; exit 0' & b=$!; echo $a $b");
      expect(code).toBe(0); // Node's own child: its exit event still arrived, with its code
      const [a, b] = pids;
      for (let i = 0; i < 200 && !(exits.some((e) => e.pid === a) && exits.some((e) => e.pid === b)); i++) await new Promise((r) => setTimeout(r, 10));
      expect(exits.find((e) => e.pid === a)?.status).toBe(9);
      expect(exits.find((e) => e.pid === b)?.status).toBe(0);
    } finally {
      unsubscribe();
    }
  });

  it("reports a signalled orphan as 128 + the signal", async () => {
    const exits: Exit[] = [];
    const unsubscribe = reaper.subscribe((e) => exits.push(e));
    try {
      const { pids } = await orphans("sleep 30 >/dev/null 2>&1 & echo $!");
      const [pid] = pids;
      process.kill(pid!, "SIGKILL");
      for (let i = 0; i < 200 && !exits.some((e) => e.pid === pid); i++) await new Promise((r) => setTimeout(r, 10));
      expect(exits.find((e) => e.pid === pid)?.status).toBe(137);
    } finally {
      unsubscribe();
    }
  });

  it("runs commands, capturing output and exit codes", async () => {
    expect(await reaper.run("sh", ["-c", "echo out; echo err >&2; exit 4"])).toEqual({ code: 4, stdout: "out\n", stderr: "err\n" });
    expect(await reaper.run("sh", ["-c", "cat"], { input: "in" })).toMatchObject({ code: 0, stdout: "in" });
    expect((await reaper.run("sh", ["-c", "kill -TERM $$"])).code).toBe(143);
    await expect(reaper.run("/does/not/exist", [])).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("hands the exits of run()'s commands to their callers only, whether drained or not", async () => {
    const exits: Exit[] = [];
    const unsubscribe = reaper.subscribe((e) => exits.push(e));
    try {
      const r = await reaper.run("sh", ["-c", "echo $$"]);
      const pid = Number(r.stdout.trim());
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(exits.some((e) => e.pid === pid)).toBe(false);
      // Without a started reaper (the shim's `delete` action), the pidfd delivers the exit. (The shared
      // reaper stops meanwhile: its drain would reap the child first, as no process runs two reapers.)
      reaper.stop();
      try {
        const idle = new Reaper(silentLogger);
        for (let i = 0; i < 5; i++) expect(await idle.run("sh", ["-c", `exit ${i + 1}`])).toMatchObject({ code: i + 1 });
      } finally {
        reaper.start();
      }
      // With stdio given, the call resolves at the command's exit even if a child keeps the stdio open.
      const started = Date.now();
      const given = await reaper.run("sh", ["-c", "sleep 2 & exit 3"], { stdio: ["ignore", 2, 2] });
      expect(given.code).toBe(3);
      expect(Date.now() - started).toBeLessThan(1500);
      await expect(reaper.run("no-such-command-here", [])).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      unsubscribe();
    }
  });
});
