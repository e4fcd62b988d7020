import { closeSync, existsSync, openSync, readSync, statSync, writeSync, constants } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { S_IFIFO, mknod } from "@containerts/sys";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachIO, fifoIO, loadIO, logURIIO, nullIO } from "./cio.js";
import { parseSignal, signalName, stopSignal } from "./signals.js";

/** Reads what a FIFO holds until EOF (every writer closed); `fd` was opened non-blocking, as a shim does. */
function drain(fd: number): string {
  const buf = Buffer.alloc(4096);
  let out = "";
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    out += buf.toString("utf8", 0, n);
  }
  closeSync(fd);
  return out;
}

describe("fifoIO", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cio-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates <dir>/<random>/<id>-stdin|stdout|stderr FIFOs, copies both ways, and removes them on close", async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    let err = "";
    stdout.on("data", (d: Buffer) => (out += d.toString()));
    stderr.on("data", (d: Buffer) => (err += d.toString()));
    const io = await fifoIO({ stdin: Readable.from(["hello ", "shim"]), stdout, stderr, fifoDir: dir })("c1");
    const fifoDir = dirname(io.config.stdout);
    expect(dirname(fifoDir)).toBe(dir);
    expect(io.config).toEqual({
      stdin: join(fifoDir, "c1-stdin"),
      stdout: join(fifoDir, "c1-stdout"),
      stderr: join(fifoDir, "c1-stderr"),
      terminal: false,
    });
    for (const p of [io.config.stdin, io.config.stdout, io.config.stderr]) expect(statSync(p).isFIFO()).toBe(true);
    expect(statSync(fifoDir).mode & 0o777).toBe(0o700);

    // The shim's side: open stdin for reading, write the outputs and close them; read stdin to EOF.
    const stdinFd = openSync(io.config.stdin, constants.O_RDONLY | constants.O_NONBLOCK);
    for (const [p, text] of [
      [io.config.stdout, "to stdout\n"],
      [io.config.stderr, "to stderr\n"],
    ] as const) {
      const fd = openSync(p, constants.O_WRONLY);
      writeSync(fd, text);
      closeSync(fd);
    }
    await io.stdinClosed;
    expect(drain(stdinFd)).toBe("hello shim");
    await io.wait();
    expect(out).toBe("to stdout\n");
    expect(err).toBe("to stderr\n");
    await io.close();
    expect(existsSync(fifoDir)).toBe(false);
    await io.close(); // idempotent
  });

  it("has no stderr FIFO with a terminal, and no FIFO for streams left out", async () => {
    const io = await fifoIO({ stdout: new PassThrough(), stderr: new PassThrough(), terminal: true, fifoDir: dir })("t1");
    expect(io.config.stdin).toBe("");
    expect(io.config.stderr).toBe("");
    expect(io.config.terminal).toBe(true);
    expect(await readdir(dirname(io.config.stdout))).toEqual(["t1-stdout"]);
    expect(io.stdinClosed).toBeUndefined();
    await io.close();
    expect(existsSync(dirname(io.config.stdout))).toBe(false);
  });

  it("reattaches to existing FIFOs, and load removes them without copying", async () => {
    // FIFOs a detached client left behind.
    const fifoDir = join(dir, "123");
    await mkdir(fifoDir, { mode: 0o700 });
    const created = { config: { stdin: join(fifoDir, "a1-stdin"), stdout: join(fifoDir, "a1-stdout"), stderr: "", terminal: false } };
    mknod(created.config.stdin, S_IFIFO | 0o700);
    mknod(created.config.stdout, S_IFIFO | 0o700);
    const out = new PassThrough();
    let text = "";
    out.on("data", (d: Buffer) => (text += d.toString()));
    const attached = await attachIO({ stdout: out })(created.config);
    const fd = openSync(created.config.stdout, constants.O_WRONLY);
    writeSync(fd, "again\n");
    closeSync(fd);
    await attached.wait();
    expect(text).toBe("again\n");
    const loaded = await loadIO(created.config);
    expect(loaded.config).toEqual(created.config);
    await loaded.close();
    expect(existsSync(fifoDir)).toBe(false);
    await attached.close();
    expect(basename(created.config.stdout)).toBe("a1-stdout");
  });

  it("null and log-URI I/O carry only strings", async () => {
    expect((await nullIO("x")).config).toEqual({ stdin: "", stdout: "", stderr: "", terminal: false });
    expect((await logURIIO("file:///var/log/x.log")("x")).config).toEqual({
      stdin: "",
      stdout: "file:///var/log/x.log",
      stderr: "file:///var/log/x.log",
      terminal: false,
    });
  });
});

describe("signals", () => {
  it("parses names, numbers and real-time signals like moby's ParseSignal", () => {
    expect(parseSignal("SIGTERM")).toBe(15);
    expect(parseSignal("kill")).toBe(9);
    expect(parseSignal("9")).toBe(9);
    expect(parseSignal("RTMIN+3")).toBe(37);
    expect(() => parseSignal("0")).toThrow("invalid signal: 0");
    expect(() => parseSignal("SIGNOPE")).toThrow("invalid signal: SIGNOPE");
    expect(signalName(2)).toBe("SIGINT");
  });

  it("takes the stop signal from the image label, SIGTERM otherwise", () => {
    expect(stopSignal({})).toBe(15);
    expect(stopSignal({ "io.containerd.image.config.stop-signal": "SIGQUIT" })).toBe(3);
    expect(stopSignal({}, "SIGKILL")).toBe(9);
  });
});
