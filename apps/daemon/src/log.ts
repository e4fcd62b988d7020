/**
 * JSON-lines logger of the daemon: one object per line on stderr with `time`, `level`, `msg` and fields.
 */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "panic";

const order: Readonly<Record<LogLevel, number>> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5, panic: 6 };

/** Fields attached to a log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** The logger handed to plugins (structurally the plugin registry's `Logger`). */
export interface DaemonLogger {
  readonly level: LogLevel;
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  with(fields: LogFields): DaemonLogger;
}

/** True when `s` names a log level. */
export function isLogLevel(s: string): s is LogLevel {
  return s in order;
}

/** Creates a logger writing JSON lines at or above `level` to `write` (default: stderr). */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
  base: LogFields = {},
): DaemonLogger {
  const min = order[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (order[lvl] < min) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg, ...base };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) entry[k] = v instanceof Error ? v.message : v;
    }
    write(`${JSON.stringify(entry)}\n`);
  };
  return {
    level,
    trace: (m, f) => emit("trace", m, f),
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    with: (fields) => createLogger(level, write, { ...base, ...fields }),
  };
}
