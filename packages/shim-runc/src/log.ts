/**
 * The shim's logger: JSON lines on a file descriptor (the server's stderr, which the daemon connects to
 * the bundle's `log` FIFO and copies to its own log). Writes are synchronous and never throw: a line that
 * cannot be written (no reader, a full pipe) is dropped rather than blocking or crashing the shim.
 */
import { writeSync } from "node:fs";

/** Extra fields of a log line. Errors are written as their message. */
export type LogFields = Readonly<Record<string, unknown>>;

/** A structured logger. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** A changeable destination of log lines: a file descriptor, or -1 to drop lines. */
export interface LogSink {
  fd: number;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Where lines go: a descriptor (default 2, stderr). */
  readonly fd?: number;
  /** Where lines go, changeable later (wins over `fd`). */
  readonly sink?: LogSink;
  /** Write debug lines too. */
  readonly debug?: boolean;
  /** Fields on every line. */
  readonly fields?: LogFields;
}

function plain(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** Creates a JSON-lines logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const sink: LogSink = options.sink ?? { fd: options.fd ?? 2 };
  const debug = options.debug ?? false;
  const make = (base: LogFields): Logger => {
    const write = (level: string, msg: string, fields?: LogFields): void => {
      const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
      for (const [k, v] of Object.entries(base)) line[k] = plain(v);
      if (fields !== undefined) for (const [k, v] of Object.entries(fields)) line[k] = plain(v);
      if (sink.fd < 0) return;
      try {
        writeSync(sink.fd, `${JSON.stringify(line)}\n`);
      } catch {
        // No reader or a full pipe: drop the line.
      }
    };
    return {
      debug: (msg, fields) => {
        if (debug) write("debug", msg, fields);
      },
      info: (msg, fields) => write("info", msg, fields),
      warn: (msg, fields) => write("warning", msg, fields),
      error: (msg, fields) => write("error", msg, fields),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.fields ?? {});
}

/** A logger that writes nothing. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
