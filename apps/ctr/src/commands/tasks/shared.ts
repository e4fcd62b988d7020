/**
 * What `run`, `tasks start|exec|attach` share (ctr's `tasks.NewTask`, `HandleConsoleResize`,
 * `commands.ForwardAllSignals`, `console.Current`): the I/O for the flags, the local terminal in raw mode
 * with window-size forwarding, signal forwarding as Kill, and ctr's logrus-style log lines.
 */
import { constants } from "node:os";
import { open, rename } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { type ContainerHandle, type IOCreator, type Task, fifoIO, logURIIO, nullIO } from "@containerts/client";
import { isNotFound, normalize } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { CommandError } from "../../cli.js";

/** The I/O flags of `run`, `tasks start` and `tasks exec`. */
export interface IOFlags {
  readonly nullIo?: boolean;
  readonly logUri?: string;
  readonly fifoDir?: string;
}

/** The local terminal (containerd's `console.Current()`): raw mode and size. */
export class Console {
  #raw = false;

  private constructor() {}

  /**
   * The terminal on stdin, stdout or stderr.
   * @throws CommandError `provided file is not a console` when none is a terminal (ctr panics there).
   */
  static current(): Console {
    if (!process.stdin.isTTY && !process.stdout.isTTY && !process.stderr.isTTY) throw new CommandError("provided file is not a console");
    return new Console();
  }

  /** Puts the terminal in raw mode (input byte by byte, no echo, no signals from keys). */
  setRaw(): void {
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      this.#raw = true;
    }
  }

  /** Restores the mode the terminal had. */
  reset(): void {
    if (this.#raw && process.stdin.isTTY) process.stdin.setRawMode(false);
    this.#raw = false;
  }

  /** The window size in cells. */
  size(): { width: number; height: number } {
    for (const s of [process.stdout, process.stderr]) {
      if (s.isTTY) {
        const [width, height] = s.getWindowSize();
        return { width, height };
      }
    }
    return { width: 80, height: 24 };
  }
}

/**
 * The I/O of a new task or exec process for the flags (ctr's `tasks.NewTask`): the console (stdin and
 * stdout, a pty) with a terminal, nothing with `--null-io`, the log URI with `--log-uri`, else stdin,
 * stdout and stderr through FIFOs (stdin's end closes the process's stdin).
 */
export function ioFor(tty: boolean, flags: IOFlags): IOCreator {
  const fifoDir = flags.fifoDir ?? "";
  if (tty) {
    if (flags.nullIo) throw new CommandError("tty and null-io cannot be used together");
    return fifoIO({ stdin: process.stdin, stdout: process.stdout, terminal: true, fifoDir });
  }
  if (flags.nullIo) return nullIO;
  if (flags.logUri !== undefined && flags.logUri !== "") return logURIIO(flags.logUri);
  return fifoIO({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, fifoDir });
}

/** Something with a pty (a task or an exec process). */
interface Resizable {
  resize(ctx: Context, width: number, height: number): Promise<void>;
}

/** Something that takes signals. */
interface Killable {
  kill(ctx: Context, signal: number): Promise<void>;
}

/**
 * Sends the console's size now and on every window change (ctr's `HandleConsoleResize`). Returns the
 * function that stops watching.
 */
export async function handleConsoleResize(ctx: Context, p: Resizable, con: Console): Promise<() => void> {
  const resize = async () => {
    const { width, height } = con.size();
    try {
      await p.resize(ctx, width, height);
    } catch (err) {
      logError("resize pty", err);
    }
  };
  await resize();
  const onWinch = () => void resize();
  process.on("SIGWINCH", onWinch);
  return () => process.off("SIGWINCH", onWinch);
}

// ctr forwards every signal it can catch except SIGCHLD, SIGPIPE and SIGURG; these are those Node lets a
// program catch.
const FORWARDED: readonly NodeJS.Signals[] = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGWINCH", "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU"];

/**
 * Forwards the signals this process receives to `p` as Kill (ctr's `ForwardAllSignals`); stops when the
 * process is gone. Signals that arrive before `started` resolves are forwarded once it has (ctr starts
 * forwarding only after Start, and dies of a SIGTERM that arrives earlier). Returns the function that
 * stops forwarding.
 */
export function forwardAllSignals(ctx: Context, p: Killable, started: Promise<unknown> = Promise.resolve()): () => void {
  let stopped = false;
  const handlers = new Map<NodeJS.Signals, () => void>();
  const stop = () => {
    stopped = true;
    for (const [sig, h] of handlers) process.off(sig, h);
    handlers.clear();
  };
  for (const sig of FORWARDED) {
    const h = () => {
      if (stopped) return;
      started
        .then(() => (stopped ? undefined : p.kill(ctx, constants.signals[sig])))
        .catch((err: unknown) => {
          if (isNotFound(err)) stop();
          else logError(`forward signal ${sig}`, err);
        });
    };
    handlers.set(sig, h);
    process.on(sig, h);
  }
  return stop;
}

/** Go's `time.Now().Format(time.RFC3339)` in the local zone, as logrus stamps ctr's lines. */
function rfc3339Now(): string {
  const d = new Date();
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60_000).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const abs = Math.abs(off);
  return `${local}${off > 0 ? "+" : "-"}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** A logrus line on stderr: `time="…" level=error msg="…" error="…"`. */
export function logError(msg: string, err?: unknown): void {
  const e = err === undefined ? "" : ` error=${JSON.stringify(normalize(err).message)}`;
  process.stderr.write(`time="${rfc3339Now()}" level=error msg=${JSON.stringify(msg)}${e}\n`);
}

/** A logrus warning line on stderr. */
export function logWarning(msg: string, err?: unknown): void {
  const e = err === undefined ? "" : ` error=${JSON.stringify(normalize(err).message)}`;
  process.stderr.write(`time="${rfc3339Now()}" level=warning msg=${JSON.stringify(msg)}${e}\n`);
}

/** Ends the command with `code` and no message (ctr's `cli.NewExitError("", code)`). */
export function exitWith(code: number): void {
  if (code !== 0) process.exitCode = code;
}

/** Writes `pid` to `path` atomically (ctr's `WritePidFile`). */
export async function writePidFile(path: string, pid: number): Promise<void> {
  const abs = resolve(path);
  const tmp = join(dirname(abs), `.${basename(abs)}`);
  const f = await open(tmp, "wx", 0o666);
  try {
    await f.write(String(pid));
    await f.sync();
  } finally {
    await f.close();
  }
  await rename(tmp, abs);
}

/** Options of {@link runTask}. */
export interface RunTaskOptions extends IOFlags {
  readonly tty: boolean;
  readonly detach: boolean;
  readonly pidFile?: string;
  /** Called after the task was deleted (run `--rm`). */
  readonly afterDelete?: () => Promise<void>;
}

/**
 * What `ctr run` and `ctr tasks start` do once the container exists: create the task with the I/O of the
 * flags (the terminal in raw mode with `tty`), wait, start, then (unless detached) forward window sizes or
 * signals until the exit, delete the task, and end with its exit code.
 */
export async function runTask(ctx: Context, container: ContainerHandle, o: RunTaskOptions): Promise<void> {
  let con: Console | undefined;
  const cleanups: (() => void)[] = [];
  let task: Task | undefined;
  try {
    if (o.tty) {
      con = Console.current();
      con.setRaw();
    }
    task = await container.newTask(ctx, { io: ioFor(o.tty, o) });
    let exited: Promise<{ exitStatus: number }> | undefined;
    if (!o.detach) {
      exited = task.wait(ctx);
      exited.catch(() => {});
    }
    if (o.pidFile !== undefined && o.pidFile !== "") await writePidFile(o.pidFile, task.pid);
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    if (con === undefined && !o.detach) cleanups.push(forwardAllSignals(ctx, task, startedP));
    await task.start(ctx);
    started();
    if (o.detach) return;
    if (con !== undefined) cleanups.push(await handleConsoleResize(ctx, task, con));
    const status = await exited!;
    for (const c of cleanups.splice(0)) c();
    await task.delete(ctx);
    task = undefined;
    exitWith(status.exitStatus);
  } finally {
    for (const c of cleanups) c();
    // As ctr's deferred task.Delete: best effort when something failed on the way.
    if (task !== undefined && !o.detach) await task.delete(ctx).catch(() => {});
    con?.reset();
    // As ctr's deferred container.Delete: errors are not reported.
    if (o.afterDelete !== undefined && !o.detach) await o.afterDelete().catch(() => {});
  }
}
