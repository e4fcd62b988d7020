/** Structured fields attached to a log entry (namespace, object ids, error, …). */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * The structured logger a plugin receives in its init context. The daemon provides the implementation
 * (JSON lines); library code never writes to the console itself. Implementations must not throw.
 */
export interface Logger {
  /** Logs a debugging detail. */
  debug(msg: string, fields?: LogFields): void;
  /** Logs a normal event. */
  info(msg: string, fields?: LogFields): void;
  /** Logs something unexpected that the program recovered from. */
  warn(msg: string, fields?: LogFields): void;
  /** Logs a failure. */
  error(msg: string, fields?: LogFields): void;
}

const discard = (): void => {};

/** A logger that discards everything: the default when no logger is given. */
export const noopLogger: Logger = Object.freeze({ debug: discard, info: discard, warn: discard, error: discard });

/**
 * Returns a logger that adds `bound` to the fields of every entry written through `base`
 * (fields given at the call win over bound ones).
 */
export function withLogFields(base: Logger, bound: LogFields): Logger {
  const merge = (fields?: LogFields): LogFields => (fields === undefined ? bound : { ...bound, ...fields });
  return {
    debug: (msg, fields) => base.debug(msg, merge(fields)),
    info: (msg, fields) => base.info(msg, merge(fields)),
    warn: (msg, fields) => base.warn(msg, merge(fields)),
    error: (msg, fields) => base.error(msg, merge(fields)),
  };
}
