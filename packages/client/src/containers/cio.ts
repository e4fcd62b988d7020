/**
 * Process I/O on the client side, as containerd's `cio` package does it: the client creates named pipes
 * (FIFOs) `<fifoDir>/<random>/<id>-stdin|stdout|stderr`, passes their paths to `Tasks.Create` or
 * `Tasks.Exec`, and copies between them and the caller's streams; the shim opens the other ends. With a
 * terminal there is no stderr FIFO (the pty merges the streams). The FIFOs and their directory are removed
 * when the I/O is closed (after the task or process is deleted).
 *
 * FIFOs are read through non-blocking descriptors watched by libuv (`net.Socket` over the fd), so nothing
 * blocks a thread; the stdin FIFO is opened read-write so opening never waits for the shim.
 */
import { closeSync, constants, lstatSync, openSync } from "node:fs";
import { mkdir, mkdtemp, rm, rmdir, unlink } from "node:fs/promises";
import { Socket } from "node:net";
import { dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { CanceledError } from "@containerts/errdefs";
import { S_IFIFO, mknod } from "@containerts/sys";

/** Where tsctr and this client create FIFOs by default (the stock ctr uses `/run/containerd/fifo`). */
export const DEFAULT_FIFO_DIR = "/run/containerts/fifo";

/** The stdio strings of a task or process, as the daemon stores them: FIFO paths, a log URI, or "". */
export interface IOConfig {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  /** A pty was allocated (no stderr). */
  readonly terminal: boolean;
}

/**
 * The I/O of one task or process (containerd's `cio.IO`).
 *
 * Lifecycle: created before `Tasks.Create`/`Exec`; copies until the shim closes its ends of the output
 * FIFOs (the process and its children exited); `wait()` resolves then; `close()` releases everything and
 * removes the FIFOs. `close()` never rejects.
 */
export interface ProcessIO {
  /** The paths passed to the daemon. */
  readonly config: IOConfig;
  /**
   * Resolves once the caller's stdin stream ended and everything read from it was written to the stdin
   * FIFO (then the process's stdin is closed with CloseIO). Undefined when there is no stdin to copy.
   */
  readonly stdinClosed?: Promise<void>;
  /** Stops copying input; output copying goes on until the shim closes the FIFOs. */
  cancel(): void;
  /** Resolves when the output copies finished. */
  wait(): Promise<void>;
  /** Stops copying, closes the FIFOs and removes them (and their directory when it is ours or empty). */
  close(): Promise<void>;
}

/** Creates the I/O of a new task or process from its id (containerd's `cio.Creator`). */
export type IOCreator = (id: string) => Promise<ProcessIO>;

/** Reconnects to the FIFOs of an existing task or process (containerd's `cio.Attach`). */
export type IOAttach = (fifos: IOConfig) => Promise<ProcessIO>;

/** The caller's side of a process's stdio. */
export interface IOStreams {
  /** Copied to the process's stdin; when it ends, the process's stdin is closed. */
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  /** Ignored with a terminal. */
  readonly stderr?: Writable;
  /** Allocate a pty: stdout carries everything, there is no stderr FIFO. */
  readonly terminal?: boolean;
  /** The FIFO directory (default {@link DEFAULT_FIFO_DIR}). */
  readonly fifoDir?: string;
}

class FifoIO implements ProcessIO {
  readonly config: IOConfig;
  readonly stdinClosed?: Promise<void>;
  readonly #sockets: Socket[] = [];
  readonly #copies: Promise<void>[] = [];
  readonly #stdinSource: Readable | undefined;
  #stdinSocket: Socket | undefined;
  #stdinCanceled = false;
  readonly #cleanup: () => Promise<void>;
  #closed = false;

  constructor(config: IOConfig, streams: IOStreams, cleanup: () => Promise<void>) {
    this.config = config;
    this.#cleanup = cleanup;
    try {
      if (config.stdout !== "" && streams.stdout !== undefined) this.#copyOut(config.stdout, streams.stdout);
      if (!config.terminal && config.stderr !== "" && streams.stderr !== undefined) this.#copyOut(config.stderr, streams.stderr);
      if (config.stdin !== "" && streams.stdin !== undefined) {
        this.#stdinSource = streams.stdin;
        this.stdinClosed = this.#copyIn(config.stdin, streams.stdin);
        this.stdinClosed.catch(() => {});
      }
    } catch (err) {
      for (const s of this.#sockets) s.destroy();
      throw err;
    }
  }

  #open(path: string, mode: "read" | "write", fd?: number): Socket {
    const f = fd ?? openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const s = new Socket({ fd: f, readable: mode === "read", writable: mode === "write" });
      this.#sockets.push(s);
      return s;
    } catch (err) {
      closeSync(f);
      throw err;
    }
  }

  #copyOut(path: string, dst: Writable): void {
    const src = this.#open(path, "read");
    src.on("error", () => {});
    src.pipe(dst, { end: false });
    this.#copies.push(
      new Promise<void>((resolve) => {
        src.once("close", () => {
          src.unpipe(dst);
          resolve();
        });
      }),
    );
  }

  /**
   * Copies `src` into the stdin FIFO. As containerd's fifo package does, the write side is opened only
   * once the shim has opened the read side (a FIFO nobody holds open drops what was written to it); the
   * source stays paused until then. Resolves when the source ended and the FIFO was closed.
   */
  async #copyIn(path: string, src: Readable): Promise<void> {
    const fd = await this.#whenReaderOpen(path);
    const dst = this.#open(path, "write", fd);
    dst.on("error", () => {});
    this.#stdinSocket = dst;
    await new Promise<void>((resolve, reject) => {
      src.pipe(dst);
      dst.once("finish", () => {
        dst.destroy();
        resolve();
      });
      dst.once("close", () => reject(new CanceledError("stdin copy")));
      src.once("error", (err) => reject(err));
    });
  }

  /** Opens the FIFO at `path` for writing once it has a reader (polling a non-blocking open). */
  async #whenReaderOpen(path: string): Promise<number> {
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      if (this.#closed || this.#stdinCanceled) throw new CanceledError("stdin copy");
      try {
        return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENXIO") throw err;
      }
      await new Promise((r) => setTimeout(r, delay).unref());
    }
  }

  cancel(): void {
    this.#stdinCanceled = true;
    const sock = this.#stdinSocket;
    if (sock !== undefined) {
      this.#stdinSource?.unpipe(sock);
      sock.destroy();
    }
  }

  async wait(): Promise<void> {
    await Promise.all(this.#copies);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.cancel();
    for (const s of this.#sockets) s.destroy();
    await this.#cleanup().catch(() => {});
  }
}

/** I/O with no copying: the configuration only, and a cleanup on close. */
class StaticIO implements ProcessIO {
  readonly config: IOConfig;
  readonly #cleanup: (() => Promise<void>) | undefined;
  #closed = false;
  constructor(config: IOConfig, cleanup?: () => Promise<void>) {
    this.config = config;
    this.#cleanup = cleanup;
  }
  cancel(): void {}
  async wait(): Promise<void> {}
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#cleanup?.().catch(() => {});
  }
}

function mkfifo(path: string): void {
  mknod(path, S_IFIFO | 0o700);
}

/**
 * I/O through new FIFOs in `<fifoDir>/<random>/` copied to and from `streams` (containerd's
 * `cio.NewCreator`). A stream left out gets no FIFO (its path is ""). The directory is removed on close.
 */
export function fifoIO(streams: IOStreams = {}): IOCreator {
  return async (id) => {
    const root = streams.fifoDir === undefined || streams.fifoDir === "" ? DEFAULT_FIFO_DIR : streams.fifoDir;
    await mkdir(root, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(`${root}/`);
    const terminal = streams.terminal ?? false;
    const config: IOConfig = {
      stdin: streams.stdin === undefined ? "" : join(dir, `${id}-stdin`),
      stdout: streams.stdout === undefined ? "" : join(dir, `${id}-stdout`),
      stderr: streams.stderr === undefined || terminal ? "" : join(dir, `${id}-stderr`),
      terminal,
    };
    const cleanup = () => rm(dir, { recursive: true, force: true });
    try {
      for (const p of [config.stdin, config.stdout, config.stderr]) if (p !== "") mkfifo(p);
      return new FifoIO(config, streams, cleanup);
    } catch (err) {
      await cleanup();
      throw err;
    }
  };
}

/** The caller's process stdio (containerd's `cio.WithStdio`), optionally with a terminal. */
export function stdio(options: Pick<IOStreams, "terminal" | "fifoDir"> = {}): IOCreator {
  return fifoIO({ stdin: process.stdin, stdout: process.stdout, ...(options.terminal ? {} : { stderr: process.stderr }), ...options });
}

/** No I/O at all: every stdio string is empty, the shim connects the process to /dev/null. */
export const nullIO: IOCreator = async () => new StaticIO({ stdin: "", stdout: "", stderr: "", terminal: false });

/**
 * Output to a log URI handled by the shim (`file:///path` or `binary:///path?arg=v`): stdout = stderr = the
 * URI, no stdin (containerd's `cio.LogURI`).
 */
export function logURIIO(uri: string, options: { readonly terminal?: boolean } = {}): IOCreator {
  return async () => new StaticIO({ stdin: "", stdout: uri, stderr: uri, terminal: options.terminal ?? false });
}

/** The cleanup containerd does for FIFOs it did not create: remove those paths that are FIFOs, then their directories if empty. */
function removeFifos(config: IOConfig): () => Promise<void> {
  return async () => {
    const dirs = new Set<string>();
    for (const p of [config.stdin, config.stdout, config.stderr]) {
      if (p === "") continue;
      let fifo = false;
      try {
        fifo = lstatSync(p).isFIFO();
      } catch {
        continue;
      }
      if (!fifo) continue;
      await unlink(p).catch(() => {});
      dirs.add(dirname(p));
    }
    for (const d of dirs) await rmdir(d).catch(() => {});
  };
}

/**
 * Reconnects `streams` to the FIFOs of an existing task or process (containerd's `cio.NewAttach`); closing
 * the I/O removes those FIFOs and their directory.
 */
export function attachIO(streams: Omit<IOStreams, "fifoDir" | "terminal"> = {}): IOAttach {
  return async (fifos) => new FifoIO(fifos, { ...streams, terminal: fifos.terminal }, removeFifos(fifos));
}

/** Loads the FIFO paths without copying, so that deleting the task removes them (containerd's `cio.Load`). */
export const loadIO: IOAttach = async (fifos) => new StaticIO(fifos, removeFifos(fifos));
