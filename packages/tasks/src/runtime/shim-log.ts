/**
 * The shim's log FIFO (`<bundle>/log`): the daemon opens it read-write and non-blocking (so it never waits
 * for a writer and never sees EOF while the shim restarts its side) and hands every line to a sink.
 */
import { constants, openSync, closeSync } from "node:fs";
import { Socket } from "node:net";
import { S_IFIFO, mknod } from "@containerts/sys";

/** Receives the shim's log, one line at a time (without the newline). */
export type ShimLogSink = (line: string) => void;

/** An open shim log reader. */
export interface ShimLogReader {
  /** Stops reading and closes the FIFO. Idempotent. */
  close(): void;
}

/**
 * Opens `<bundle>/log` (creating the FIFO when it is missing) and forwards each line to `sink`.
 * @throws SysError / Node errors when the FIFO cannot be created or opened.
 */
export function openShimLog(path: string, sink: ShimLogSink): ShimLogReader {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    mknod(path, S_IFIFO | 0o700);
    fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  }
  let sock: Socket;
  try {
    sock = new Socket({ fd, readable: true, writable: false });
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let pending = "";
  sock.setEncoding("utf8");
  sock.on("data", (chunk: string) => {
    pending += chunk;
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim() !== "") sink(line);
      nl = pending.indexOf("\n");
    }
    if (pending.length > 64 * 1024) {
      sink(pending);
      pending = "";
    }
  });
  sock.on("error", () => undefined);
  sock.unref();
  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      if (pending.trim() !== "") sink(pending);
      pending = "";
      sock.destroy();
    },
  };
}
