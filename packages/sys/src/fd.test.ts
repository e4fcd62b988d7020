import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { isInvalidArgument } from "@containerts/errdefs";
import { afterEach, describe, expect, it } from "vitest";
import { Scratch } from "./__fixtures__/scratch.js";
import { SysError } from "./errors.js";
import { closeFd, dupFd, receiveFdOnce, sendFd, tryFlock } from "./fd.js";
import { getWinsize, openpty, setWinsize } from "./tty.js";

const scratch = new Scratch();
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
  scratch.cleanup();
});

function open(path: string, flags: string): number {
  const fd = openSync(path, flags);
  fds.push(fd);
  return fd;
}

describe("fd passing", () => {
  it("receives a file descriptor sent over the socket, which refers to the same file", async () => {
    const dir = scratch.dir("fdpass");
    const sock = join(dir, "console.sock");
    const file = join(dir, "data");
    writeFileSync(file, "payload");

    const received = receiveFdOnce(sock);
    expect(statSync(sock).isSocket()).toBe(true);
    const fd = open(file, "r");
    sendFd(sock, fd, "/dev/pts/99");
    const got = await received;
    fds.push(got);

    expect(got).not.toBe(fd);
    const a = fstatSync(fd);
    const b = fstatSync(got);
    expect([b.dev, b.ino]).toStrictEqual([a.dev, a.ino]);
    const buf = Buffer.alloc(7);
    readSync(got, buf, 0, 7, 0);
    expect(buf.toString()).toBe("payload");
    // The socket file is gone once the peer was accepted.
    expect(existsSync(sock)).toBe(false);
  });

  it("passes a writable descriptor that writes into the original file", async () => {
    const dir = scratch.dir("fdpass");
    const sock = join(dir, "s");
    const file = join(dir, "out");
    const received = receiveFdOnce(sock);
    const fd = open(file, "w");
    sendFd(sock, fd);
    const got = await received;
    fds.push(got);
    writeFileSync(got, "via passed fd");
    expect(readFileSync(file, "utf8")).toBe("via passed fd");
  });

  it("carries a pty master like runc's --console-socket, ready for resizing", async () => {
    const dir = scratch.dir("console");
    const sock = join(dir, "console.sock");
    const pty = openpty();
    fds.push(pty.master, pty.slave);
    const received = receiveFdOnce(sock);
    sendFd(sock, pty.master, pty.slaveName);
    const master = await received;
    fds.push(master);
    setWinsize(master, 50, 160);
    expect(getWinsize(pty.slave)).toStrictEqual({ rows: 50, cols: 160 });
  });

  it("is cancelled by an AbortSignal and removes its socket file", async () => {
    const dir = scratch.dir("fdpass");
    const sock = join(dir, "s");
    const ac = new AbortController();
    const received = receiveFdOnce(sock, ac.signal);
    expect(existsSync(sock)).toBe(true);
    ac.abort(new Error("caller gave up"));
    await expect(received).rejects.toThrow("caller gave up");
    expect(existsSync(sock)).toBe(false);
    await expect(receiveFdOnce(join(dir, "t"), AbortSignal.abort(new Error("early")))).rejects.toThrow("early");
    expect(existsSync(join(dir, "t"))).toBe(false);
  });

  it("rejects when the peer closes without sending a descriptor", async () => {
    const dir = scratch.dir("fdpass");
    const sock = join(dir, "s");
    const received = receiveFdOnce(sock);
    const { createConnection } = await import("node:net");
    const conn = createConnection(sock);
    await new Promise<void>((resolve, reject) => conn.once("connect", resolve).once("error", reject));
    conn.end("no fd here");
    await expect(received).rejects.toThrow(/peer closed before sending a file descriptor/);
  });

  it("refuses an existing path, a missing listener and an over-long path", async () => {
    const dir = scratch.dir("fdpass");
    const existing = join(dir, "exists");
    writeFileSync(existing, "");
    await expect(receiveFdOnce(existing)).rejects.toMatchObject({ code: "EADDRINUSE", syscall: "bind" });
    expect(existsSync(existing)).toBe(true);

    const err = (() => {
      try {
        sendFd(join(dir, "nobody"), 0);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: "ENOENT", syscall: "connect" });

    const rejected = await receiveFdOnce(join(dir, "x".repeat(120))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isInvalidArgument(rejected)).toBe(true);
  });
});

describe("closeFd and dupFd", () => {
  it("duplicates a descriptor and closes it", () => {
    const dir = scratch.dir("dup");
    const file = join(dir, "f");
    writeFileSync(file, "abc");
    const fd = open(file, "r");
    const dup = dupFd(fd);
    expect(dup).not.toBe(fd);
    expect(fstatSync(dup).ino).toBe(fstatSync(fd).ino);
    closeFd(dup);
    expect(() => closeFd(dup)).toThrow(expect.objectContaining({ code: "EBADF", syscall: "close" }));
    expect(() => dupFd(-1)).toThrow(expect.objectContaining({ code: "EBADF" }));
  });
});

describe("tryFlock", () => {
  it("excludes other open files as flock(1) does, and releases", () => {
    const file = join(scratch.dir("flock"), "lock");
    writeFileSync(file, "");
    const a = open(file, "r");
    const b = open(file, "r");
    expect(tryFlock(a, "shared")).toBe(true);
    expect(tryFlock(b, "shared")).toBe(true);
    expect(tryFlock(b, "exclusive")).toBe(false);
    expect(tryFlock(a, "unlock")).toBe(true);
    expect(tryFlock(b, "exclusive")).toBe(true);
    expect(tryFlock(a, "shared")).toBe(false);
    // the flock(1) command sees the same lock
    expect(spawnSync("flock", ["-n", "-s", file, "true"]).status).toBe(1);
    expect(tryFlock(b, "unlock")).toBe(true);
    expect(spawnSync("flock", ["-n", "-s", file, "true"]).status).toBe(0);
    expect(() => tryFlock(-1, "shared")).toThrow(expect.objectContaining({ code: "EBADF", syscall: "flock" }));
  });
});
