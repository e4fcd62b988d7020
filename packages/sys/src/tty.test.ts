import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { getWinsize, openpty, setWinsize } from "./tty.js";

const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
});

describe("pty", () => {
  it("opens a pty pair whose slave is a terminal carrying data to the master", () => {
    const pty = openpty();
    fds.push(pty.master, pty.slave);
    expect(pty.slaveName).toMatch(/^\/dev\/pts\/\d+$/);
    writeSync(pty.slave, "hi\n");
    const buf = Buffer.alloc(16);
    const n = readSync(pty.master, buf, 0, buf.length, null);
    // The terminal's default output processing turns "\n" into "\r\n".
    expect(buf.toString("utf8", 0, n)).toBe("hi\r\n");
  });

  it("sets and gets the window size from either side", () => {
    const pty = openpty();
    fds.push(pty.master, pty.slave);
    setWinsize(pty.master, 40, 132);
    expect(getWinsize(pty.slave)).toStrictEqual({ rows: 40, cols: 132 });
    setWinsize(pty.slave, 24, 80);
    expect(getWinsize(pty.master)).toStrictEqual({ rows: 24, cols: 80 });
  });

  it("rejects a non-terminal with ENOTTY and bad sizes with InvalidArgument", () => {
    const fd = openSync("/dev/null", "r");
    fds.push(fd);
    expect(() => getWinsize(fd)).toThrow(expect.objectContaining({ code: "ENOTTY", syscall: "ioctl" }));
    expect(() => setWinsize(fd, 1, 1)).toThrow(expect.objectContaining({ code: "ENOTTY" }));
    expect(() => setWinsize(fd, 70000, 1)).toThrow(/rows 70000/);
  });
});
