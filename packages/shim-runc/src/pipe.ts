/**
 * Real pipes for container stdio. Node has no pipe(2), and `child_process`'s `"pipe"` stdio is a socket
 * pair, which a container process would see as a socket (`/dev/stdout` cannot be opened on one). A FIFO
 * node gives the same kernel object as pipe(2): create it in a private directory, open both ends (each
 * open is its own file description, close-on-exec), and unlink the name at once.
 */
import { closeSync, constants, openSync, unlinkSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { S_IFIFO, mknod } from "@containerts/sys";

/** The two ends of a pipe: blocking file descriptors, close-on-exec. */
export interface Pipe {
  readonly read: number;
  readonly write: number;
}

/**
 * Creates a pipe, using a temporary FIFO name in `dir` (a directory only the shim writes to, such as the
 * bundle). Throws the errors of mknod(2) and open(2).
 */
export function createPipe(dir: string): Pipe {
  const path = join(dir, `.pipe-${randomBytes(8).toString("hex")}`);
  mknod(path, S_IFIFO | 0o600);
  let keep = -1;
  let read = -1;
  try {
    // O_RDWR never blocks on a FIFO; with a writer present the O_RDONLY open does not block either,
    // and with a reader present neither does the O_WRONLY one.
    keep = openSync(path, constants.O_RDWR);
    read = openSync(path, constants.O_RDONLY);
    const write = openSync(path, constants.O_WRONLY);
    return { read, write };
  } catch (err) {
    if (read >= 0) closeSync(read);
    throw err;
  } finally {
    if (keep >= 0) closeSync(keep);
    unlinkSync(path);
  }
}

/** Closes a file descriptor, ignoring errors (EBADF for one closed already). */
export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined || fd < 0) return;
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
