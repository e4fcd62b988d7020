import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isInvalidArgument } from "@containerts/errdefs";
import { posixSpawn, spawnProgram } from "./spawn.js";

describe("spawnProgram", () => {
  it("writes stdin, collects stdout and stderr, and reports the exit code", async () => {
    const r = await spawnProgram({ file: "/bin/sh", args: ["-c", "cat; echo oops >&2; exit 3"], env: { PATH: "/usr/bin:/bin" }, stdin: Buffer.from("hello\n") });
    expect(r).toMatchObject({ code: 3, signal: null });
    expect(r.stdout.toString()).toBe("hello\n");
    expect(r.stderr.toString()).toBe("oops\n");
    expect(r.combined.toString()).toBe("hello\noops\n");
    // No descriptor stays open behind it, and the child inherited none but its stdio.
    const before = readdirSync("/proc/self/fd").length;
    for (let i = 0; i < 10; i++) {
      const fds = await spawnProgram({ file: "/bin/ls", args: ["/proc/self/fd"], env: {}, stdin: Buffer.from("x") });
      expect(fds.stdout.toString().trim().split("\n").sort()).toEqual(["0", "1", "2", "3"]); // 3: ls's own directory
    }
    expect(readdirSync("/proc/self/fd").length).toBe(before);
  });

  it("runs in cwd, in a new session, with default signal actions and nothing blocked", async () => {
    const script = 'pwd; echo "$(cut -d" " -f6 /proc/$$/stat) $$"';
    const r = await spawnProgram({ file: "/bin/sh", args: ["-c", script], env: { PATH: "/usr/bin:/bin" }, cwd: "/tmp", setsid: true });
    const [cwd, session] = r.stdout.toString().trim().split("\n");
    expect(cwd).toBe("/tmp");
    const [sid, pid] = (session ?? "").split(" ");
    expect(sid).toBe(pid); // a session leader
    // grep reads its own status (a shell blocks signals itself while it waits for a child). Whatever the
    // mask of the thread that spawned it, the child starts with nothing blocked.
    const st = await spawnProgram({ file: "/bin/grep", args: ["-E", "^(SigBlk|SigIgn):", "/proc/self/status"], env: {} });
    const [blk, ign] = st.stdout.toString().trim().split("\n");
    expect(blk).toMatch(/^SigBlk:\s+0+$/);
    // Node ignores SIGPIPE (bit 13); the child must not.
    expect(BigInt(`0x${(ign ?? "").split(/\s+/)[1]}`) & (1n << 12n)).toBe(0n);
    // The environment is exactly what was given (the shell adds PWD, SHLVL and _ of its own).
    const env = await spawnProgram({ file: "/usr/bin/env", args: [], env: { ONLY: "this" } });
    expect(env.stdout.toString()).toBe("ONLY=this\n");
  });

  it("reports a signal and kills the program when aborted", async () => {
    const killed = await spawnProgram({ file: "/bin/sh", args: ["-c", "kill -TERM $$"], env: {} });
    expect(killed).toMatchObject({ code: null, signal: "SIGTERM" });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const started = Date.now();
    const r = await spawnProgram({ file: "/bin/sleep", args: ["30"], env: {}, signal: ac.signal });
    expect(r).toMatchObject({ code: null, signal: "SIGKILL" });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("rejects a program that cannot be started, and a relative path", async () => {
    await expect(spawnProgram({ file: "/nonexistent/prog", args: [], env: {} })).rejects.toMatchObject({ code: "ENOENT", syscall: "posix_spawn" });
    expect(() => posixSpawn({ file: "sh", args: ["sh"], env: {}, stdio: ["null", "null", "null"] })).toThrow(
      expect.objectContaining({ message: expect.stringContaining("absolute path") }),
    );
    try {
      posixSpawn({ file: "sh", args: ["sh"], env: {}, stdio: ["null", "null", "null"] });
    } catch (err) {
      expect(isInvalidArgument(err)).toBe(true);
    }
  });
});
