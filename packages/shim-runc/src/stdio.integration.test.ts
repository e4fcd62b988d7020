/**
 * ProcessIO with a plain `sh` standing in for the process runc starts: it gets `runcStdio` as its stdio,
 * then `afterRuntime` starts the copies, as after `runc create`.
 */
import type { ChildProcess } from "node:child_process";
import { constants, openSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S_IFIFO, mknod } from "@containerts/sys";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "./log.js";
import { Reaper } from "./reaper.js";
import { type Stdio, ProcessIO, isNullStdio, parseBinaryUri, stdioScheme } from "./stdio.js";

let dir = "";
const reaper = new Reaper(silentLogger);
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tsrunc-io-"));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

function fifo(name: string): string {
  const p = join(dir, name);
  mknod(p, S_IFIFO | 0o600);
  return p;
}

function readAll(path: string): Promise<string> {
  const s = new net.Socket({ fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
  cleanups.push(() => void s.destroy());
  let text = "";
  s.setEncoding("utf8").on("data", (d: string) => (text += d));
  return new Promise((resolve) => s.once("close", () => resolve(text)));
}

async function run(io: ProcessIO, script: string): Promise<number | null> {
  const child: ChildProcess = reaper.spawn("sh", ["-c", script], { stdio: [...io.runcStdio] });
  cleanups.push(() => void (child.exitCode === null && child.kill("SIGKILL")));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await io.afterRuntime();
  return exited;
}

function ctx(): Parameters<typeof ProcessIO.create>[1] {
  return { id: "c1", namespace: "ns", workDir: dir, reaper, log: silentLogger };
}

describe("stdio strings", () => {
  it("classifies schemes and parses binary URIs", () => {
    expect(stdioScheme("/run/fifo/x-stdout")).toBe("fifo");
    expect(stdioScheme("fifo:///run/x")).toBe("fifo");
    expect(stdioScheme("binary:///usr/bin/logger?a=b")).toBe("binary");
    expect(stdioScheme("file:///var/log/x")).toBe("file");
    expect(stdioScheme("/tmp/a:b")).toBe("fifo");
    expect(parseBinaryUri("binary:///usr/local/bin/log%20ger?id=1&mode=x&flag")).toEqual({ command: "/usr/local/bin/log ger", args: ["id", "1", "mode", "x", "flag"] });
    expect(isNullStdio({ stdin: "", stdout: "", stderr: "", terminal: false })).toBe(true);
  });
});

describe("ProcessIO", () => {
  it("copies stdout and stderr into FIFOs through real pipes", async () => {
    const stdio: Stdio = { stdin: "", stdout: fifo("out"), stderr: fifo("err"), terminal: false };
    const out = readAll(stdio.stdout);
    const err = readAll(stdio.stderr);
    const io = await ProcessIO.create(stdio, ctx());
    cleanups.push(() => io.close(0));
    expect(await run(io, "echo out; echo err >&2; test -p /dev/stdout && echo is-a-pipe")).toBe(0);
    expect(await out).toBe("out\nis-a-pipe\n");
    expect(await err).toBe("err\n");
  });

  it("feeds stdin from its FIFO and ends it after closeStdin and the client's close", async () => {
    const stdio: Stdio = { stdin: fifo("in"), stdout: fifo("out"), stderr: "", terminal: false };
    const out = readAll(stdio.stdout);
    const io = await ProcessIO.create(stdio, ctx());
    cleanups.push(() => io.close(0));
    const exited = run(io, "cat; echo eof");
    await new Promise((r) => setTimeout(r, 50)); // afterRuntime opened the stdin FIFO
    const w = new net.Socket({ fd: openSync(stdio.stdin, constants.O_WRONLY | constants.O_NONBLOCK), readable: false, writable: true });
    w.end("abc\n");
    await new Promise((r) => setTimeout(r, 100));
    io.closeStdin();
    expect(await exited).toBe(0);
    expect(await out).toBe("abc\neof\n");
  });

  it("appends to a regular file named as stdout, sharing it with stderr", async () => {
    const path = join(dir, "out.txt");
    await writeFile(path, "before\n");
    const io = await ProcessIO.create({ stdin: "", stdout: path, stderr: path, terminal: false }, ctx());
    expect(await run(io, "echo a; echo b >&2")).toBe(0);
    await io.close();
    expect((await readFile(path, "utf8")).split("\n").sort()).toEqual(["", "a", "b", "before"]);
  });

  it("writes file:// URIs, creating parent directories", async () => {
    const path = join(dir, "logs", "deep", "c.log");
    const io = await ProcessIO.create({ stdin: "", stdout: `file://${path}`, stderr: `file://${path}`, terminal: false }, ctx());
    expect(await run(io, "echo hello")).toBe(0);
    await io.close();
    expect(await readFile(path, "utf8")).toBe("hello\n");
  });

  it("starts binary:// loggers with fds 3, 4 and a ready pipe on 5, and stops them on close", async () => {
    const logger = join(dir, "logger.sh");
    const outDir = join(dir, "logger-out");
    await mkdir(outDir);
    await writeFile(logger, `#!/bin/sh\necho "$CONTAINER_ID $CONTAINER_NAMESPACE $*" > ${outDir}/args\nexec 5>&-\ncat <&3 > ${outDir}/out &\ncat <&4 > ${outDir}/err &\nwait\n`);
    await chmod(logger, 0o755);
    const io = await ProcessIO.create({ stdin: "", stdout: `binary://${logger}?k=v`, stderr: `binary://${logger}?k=v`, terminal: false }, ctx());
    expect(await run(io, "echo o; echo e >&2")).toBe(0);
    await io.close();
    // The logger's `cat`s run in the background: give them a moment to write what they read.
    const settled = async (name: string, want: string) => {
      let got = "";
      for (let i = 0; i < 100; i++) {
        got = await readFile(join(outDir, name), "utf8").catch(() => "");
        if (got === want) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      return got;
    };
    expect(await settled("args", "c1 ns k v\n")).toBe("c1 ns k v\n");
    expect(await settled("out", "o\n")).toBe("o\n");
    expect(await settled("err", "e\n")).toBe("e\n");
  });

  it("fails for a logging binary that cannot be started, and for unknown schemes", async () => {
    await expect(ProcessIO.create({ stdin: "", stdout: `binary://${join(dir, "missing")}`, stderr: "", terminal: false }, ctx())).rejects.toThrow(/failed to start binary process/);
    await expect(ProcessIO.create({ stdin: "", stdout: "gopher://x", stderr: "", terminal: false }, ctx())).rejects.toThrow("unknown STDIO scheme gopher");
  });

  it("gives /dev/null when no stdio is requested", async () => {
    const io = await ProcessIO.create({ stdin: "", stdout: "", stderr: "", terminal: false }, ctx());
    expect(io.runcStdio).toEqual(["ignore", "ignore", "ignore"]);
    expect(io.consoleSocket).toBeUndefined();
    await io.close();
  });
});
