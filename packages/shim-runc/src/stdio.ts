/**
 * Process I/O: connects a container process's stdio to what the client asked for
 * (containerd `pkg/process/io.go` semantics).
 *
 * - all of stdin/stdout/stderr empty (no terminal): /dev/null;
 * - `stdout` with no scheme (or `fifo://`): the three strings are FIFO paths (an empty one is not
 *   connected). The process gets real pipes; the shim copies between them and the FIFOs. A stdout or
 *   stderr path that is a regular file is appended to instead.
 * - `binary:///path?k=v`: the shim starts `/path k v …` with env `CONTAINER_ID`, `CONTAINER_NAMESPACE`,
 *   the process's stdout as fd 3, its stderr as fd 4, and a "ready" pipe as fd 5 that the logger closes
 *   (or writes to) when it is ready; the shim waits for it before starting the process.
 * - `file:///path`: stdout and stderr are appended to `/path` (parents created 0755, file 0644).
 * - a terminal: runc sends the pty master over a console socket; the stdout FIFO receives the pty output,
 *   the stdin FIFO feeds it, stderr is unused, and the pty can be resized.
 *
 * The stdin FIFO is also held open for writing by the shim (so the process's stdin does not see EOF when
 * a client reconnects); `closeStdin` (CloseIO) drops that writer, after which the client's close ends
 * the process's stdin.
 */
import type { ChildProcess } from "node:child_process";
import { constants, createWriteStream, fchownSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type Readable, type Writable, pipeline } from "node:stream";
import { ReadStream as TtyStream } from "node:tty";
import { UnknownError, withContext } from "@containerts/errdefs";
import { receiveFdOnce, setWinsize } from "@containerts/sys";
import type { Logger } from "./log.js";
import { type Pipe, closeQuietly, createPipe } from "./pipe.js";
import type { Reaper } from "./reaper.js";
import type { RuncStdio } from "./runc.js";

/** The stdio a client asked for. */
export interface Stdio {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
}

/** What {@link ProcessIO.create} needs besides the stdio strings. */
export interface IOContext {
  /** The process id (container id for init, exec id for execs): `CONTAINER_ID` of a logging binary. */
  readonly id: string;
  readonly namespace: string;
  /** A directory the shim may create temporary FIFO names in (the bundle). */
  readonly workDir: string;
  readonly reaper: Reaper;
  readonly log: Logger;
  /** Owner of the pipes (`containerd.runc.v1.Options` io_uid/io_gid); 0 leaves root. */
  readonly uid?: number;
  readonly gid?: number;
}

/** How long a binary logger gets to exit after SIGTERM before SIGKILL (as containerd). */
const BINARY_IO_TERM_TIMEOUT_MS = 12_000;
/** How long to wait for the pty master from runc. */
const CONSOLE_TIMEOUT_MS = 30_000;
/** How long `close` waits for output still being copied. */
const COPY_DRAIN_TIMEOUT_MS = 2_000;

/** True when no stdio was requested at all. */
export function isNullStdio(s: Stdio): boolean {
  return s.stdin === "" && s.stdout === "" && s.stderr === "";
}

/** The scheme of a stdio URI (`fifo` for a plain path). */
export function stdioScheme(uri: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  return m === null ? "fifo" : m[1]!.toLowerCase();
}

/** Parses `binary:///path?k=v&k2=v2` into the command and its arguments (`k v k2 v2`). */
export function parseBinaryUri(uri: string): { command: string; args: string[] } {
  const u = new URL(uri);
  const args: string[] = [];
  const seen = new Set<string>();
  for (const [k, v] of u.searchParams) {
    if (seen.has(k)) continue; // containerd passes the first value of each key
    seen.add(k);
    args.push(k);
    if (v !== "") args.push(v);
  }
  return { command: decodeURIComponent(u.pathname), args };
}

function isFifo(path: string): boolean {
  return statSync(path).isFIFO();
}

/** A writable destination for copied output, shared when stdout and stderr name the same file. */
interface Sink {
  readonly stream: Writable;
  refs: number;
}

/** The I/O of one process; see the module notes for the lifecycle. */
export class ProcessIO {
  readonly stdio: Stdio;
  readonly #ctx: IOContext;
  /** Descriptors handed to runc, closed once runc has returned. */
  readonly #childFds: number[] = [];
  #runcStdio: RuncStdio = ["ignore", "ignore", "ignore"];
  /** Our ends of the pipes (fifo/file schemes). */
  #stdinWrite = -1;
  #stdoutRead = -1;
  #stderrRead = -1;
  /** The shim's writer on the stdin FIFO (dropped by CloseIO). */
  #stdinKeepAlive = -1;
  #console?: { readonly dir: string; readonly socket: string; readonly abort: AbortController; readonly master: Promise<number> };
  #masterFd = -1;
  #logger?: ChildProcess;
  readonly #streams = new Set<Readable | Writable>();
  readonly #copies: Promise<void>[] = [];
  #closed = false;

  private constructor(stdio: Stdio, ctx: IOContext) {
    this.stdio = stdio;
    this.#ctx = ctx;
  }

  /**
   * Prepares the I/O before runc runs: pipes, the logging binary, or the console socket.
   * Errors: UnknownError `unknown STDIO scheme <s>`; the errors of pipe creation, of starting the logging
   * binary, and of opening a `file://` target. Nothing is left open on failure.
   */
  static async create(stdio: Stdio, ctx: IOContext): Promise<ProcessIO> {
    const io = new ProcessIO(stdio, ctx);
    try {
      await io.#prepare();
    } catch (err) {
      await io.close(0);
      throw err;
    }
    return io;
  }

  /** The console socket path for `runc --console-socket`, when a terminal was requested. */
  get consoleSocket(): string | undefined {
    return this.#console?.socket;
  }

  /** The stdio to give runc. */
  get runcStdio(): RuncStdio {
    return this.#runcStdio;
  }

  #pipe(): Pipe {
    const p = createPipe(this.#ctx.workDir);
    const { uid = 0, gid = 0 } = this.#ctx;
    if (uid !== 0 || gid !== 0) {
      fchownSync(p.read, uid, gid);
      fchownSync(p.write, uid, gid);
    }
    return p;
  }

  async #prepare(): Promise<void> {
    const s = this.stdio;
    if (s.terminal) {
      const dir = mkdtempSync(join(tmpdir(), "tsrunc-pty-"));
      const socket = join(dir, "console.sock");
      const abort = new AbortController();
      const master = receiveFdOnce(socket, abort.signal);
      master.catch(() => {}); // observed in afterRuntime, or abandoned on close
      this.#console = { dir, socket, abort, master };
      return;
    }
    if (isNullStdio(s)) return;
    const scheme = stdioScheme(s.stdout);
    const stdio: [number | "ignore", number | "ignore", number | "ignore"] = ["ignore", "ignore", "ignore"];
    switch (scheme) {
      case "fifo": {
        if (s.stdin !== "") stdio[0] = this.#stdinPipe();
        if (s.stdout !== "") {
          const p = this.#pipe();
          this.#stdoutRead = p.read;
          this.#childFds.push(p.write);
          stdio[1] = p.write;
        }
        if (s.stderr !== "") {
          const p = this.#pipe();
          this.#stderrRead = p.read;
          this.#childFds.push(p.write);
          stdio[2] = p.write;
        }
        break;
      }
      case "file": {
        const path = decodeURIComponent(new URL(s.stdout).pathname);
        mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
        const fd = openSync(path, constants.O_APPEND | constants.O_CREAT | constants.O_WRONLY, 0o644);
        this.#childFds.push(fd);
        if (s.stdin !== "") stdio[0] = this.#stdinPipe();
        stdio[1] = fd;
        stdio[2] = fd;
        break;
      }
      case "binary":
        await this.#startLogger(stdio);
        break;
      default:
        throw new UnknownError(`unknown STDIO scheme ${scheme}`, { bare: true });
    }
    this.#runcStdio = stdio;
  }

  #stdinPipe(): number {
    const p = this.#pipe();
    this.#stdinWrite = p.write;
    this.#childFds.push(p.read);
    return p.read;
  }

  async #startLogger(stdio: [number | "ignore", number | "ignore", number | "ignore"]): Promise<void> {
    const { command, args } = parseBinaryUri(this.stdio.stdout);
    const out = this.#pipe();
    const err = this.#pipe();
    const ready = this.#pipe();
    this.#childFds.push(out.write, err.write);
    stdio[1] = out.write;
    stdio[2] = err.write;
    let child: ChildProcess;
    try {
      child = this.#ctx.reaper.spawn(command, args, {
        stdio: ["ignore", "ignore", "ignore", out.read, err.read, ready.write],
        env: { CONTAINER_ID: this.#ctx.id, CONTAINER_NAMESPACE: this.#ctx.namespace },
      });
    } catch (e) {
      closeQuietly(ready.read);
      throw withContext(e, "failed to start binary process");
    } finally {
      closeQuietly(out.read);
      closeQuietly(err.read);
      closeQuietly(ready.write);
    }
    if (child.pid === undefined) {
      // spawn reports a failure to execute (ENOENT, EACCES) as an `error` event on the next tick.
      closeQuietly(ready.read);
      const e = await new Promise<unknown>((resolve) => child.once("error", resolve));
      throw withContext(e, "failed to start binary process");
    }
    this.#logger = child;
    const readyStream = new net.Socket({ fd: ready.read, readable: true, writable: false });
    await new Promise<void>((resolve, reject) => {
      const done = (e?: unknown): void => {
        readyStream.destroy();
        child.off("error", onError);
        if (e === undefined) resolve();
        else reject(withContext(e, "failed to start binary process"));
      };
      const onError = (e: unknown): void => done(e);
      child.once("error", onError);
      readyStream.once("data", () => done());
      readyStream.once("end", () => done());
      readyStream.once("error", (e) => done(e));
    });
  }

  /**
   * Called once runc has returned successfully: releases the descriptors the process now owns and starts
   * copying. Errors: the pty did not arrive within 30 s, or a FIFO could not be opened.
   */
  async afterRuntime(): Promise<void> {
    for (const fd of this.#childFds.splice(0)) closeQuietly(fd);
    const s = this.stdio;
    if (this.#console !== undefined) {
      const timeout = setTimeout(() => this.#console?.abort.abort(new UnknownError("failed to retrieve console master: timeout")), CONSOLE_TIMEOUT_MS);
      let fd: number;
      try {
        fd = await this.#console.master;
      } catch (err) {
        throw withContext(err, "failed to retrieve console master");
      } finally {
        clearTimeout(timeout);
        rmSync(this.#console.dir, { recursive: true, force: true });
      }
      this.#masterFd = fd;
      const console = new TtyStream(fd);
      this.#track(console);
      if (s.stdout !== "") {
        const sink = this.#sink(s.stdout);
        this.#copy(console, sink);
      } else {
        console.resume();
      }
      if (s.stdin !== "") this.#copyStdin(console, false);
      return;
    }
    if (this.#stdoutRead >= 0) {
      const src = this.#reader(this.#stdoutRead);
      this.#stdoutRead = -1;
      this.#copy(src, this.#sink(s.stdout));
    }
    if (this.#stderrRead >= 0) {
      const src = this.#reader(this.#stderrRead);
      this.#stderrRead = -1;
      this.#copy(src, this.#sink(s.stderr));
    }
    if (this.#stdinWrite >= 0) {
      const dst = new net.Socket({ fd: this.#stdinWrite, readable: false, writable: true });
      this.#stdinWrite = -1;
      this.#track(dst);
      this.#copyStdin(dst, true);
    }
  }

  #reader(fd: number): net.Socket {
    const s = new net.Socket({ fd, readable: true, writable: false });
    this.#track(s);
    return s;
  }

  #track(s: Readable | Writable): void {
    this.#streams.add(s);
    s.once("close", () => this.#streams.delete(s));
    s.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "ECONNRESET" && err.code !== "EIO") this.#ctx.log.warn("stdio copy", { error: err, id: this.#ctx.id });
    });
  }

  readonly #sinks = new Map<string, Sink>();

  /** A writer for an output path: a FIFO (held read-write, so it never blocks on open) or a file. */
  #sink(path: string): Sink {
    const shared = this.#sinks.get(path);
    if (shared !== undefined) {
      shared.refs++;
      return shared;
    }
    let stream: Writable;
    if (isFifo(path)) {
      const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
      stream = new net.Socket({ fd, readable: false, writable: true });
    } else {
      const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND);
      stream = createWriteStream("", { fd });
    }
    this.#track(stream);
    const sink: Sink = { stream, refs: 1 };
    this.#sinks.set(path, sink);
    return sink;
  }

  #copy(src: Readable, sink: Sink): void {
    this.#copies.push(
      new Promise<void>((resolve) => {
        src.pipe(sink.stream, { end: false });
        const finish = (): void => {
          src.unpipe(sink.stream);
          if (--sink.refs === 0) {
            sink.stream.end();
            sink.stream.once("close", () => resolve());
            sink.stream.once("error", () => resolve());
            if (sink.stream.destroyed) resolve();
          } else {
            resolve();
          }
        };
        src.once("end", finish);
        src.once("error", finish);
      }),
    );
  }

  #copyStdin(dst: Writable, endWithSource: boolean): void {
    const path = this.stdio.stdin;
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    this.#stdinKeepAlive = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    const src = this.#reader(fd);
    if (endWithSource) {
      pipeline(src, dst, () => {});
    } else {
      src.pipe(dst, { end: false });
    }
  }

  /** Drops the shim's writer on the stdin FIFO (CloseIO): the client's close then ends the process's stdin. */
  closeStdin(): void {
    const fd = this.#stdinKeepAlive;
    this.#stdinKeepAlive = -1;
    closeQuietly(fd);
  }

  /** Resizes the pty, when there is one: `width` columns, `height` rows. */
  resize(width: number, height: number): void {
    if (this.#masterFd >= 0) setWinsize(this.#masterFd, height, width);
  }

  /**
   * Releases everything: waits up to `drainMs` for output still being copied, then closes every stream
   * and descriptor, stops the logging binary (SIGTERM, SIGKILL after 12 s) and removes the console socket
   * directory. Idempotent; never rejects.
   */
  async close(drainMs = COPY_DRAIN_TIMEOUT_MS): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (drainMs > 0 && this.#copies.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(this.#copies), new Promise((r) => (timer = setTimeout(r, drainMs)))]);
      clearTimeout(timer);
    }
    for (const fd of this.#childFds.splice(0)) closeQuietly(fd);
    for (const fd of [this.#stdinWrite, this.#stdoutRead, this.#stderrRead]) closeQuietly(fd);
    this.#stdinWrite = this.#stdoutRead = this.#stderrRead = -1;
    this.closeStdin();
    for (const s of [...this.#streams]) s.destroy();
    this.#streams.clear();
    this.#masterFd = -1;
    if (this.#console !== undefined) {
      this.#console.abort.abort(new UnknownError("process i/o closed"));
      rmSync(this.#console.dir, { recursive: true, force: true });
    }
    const logger = this.#logger;
    if (logger !== undefined && logger.exitCode === null && logger.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => logger.kill("SIGKILL"), BINARY_IO_TERM_TIMEOUT_MS);
        logger.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        if (!logger.kill("SIGTERM")) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  }
}

