/**
 * What every tsctr command shares: the global options, connecting the client, turning errors into ctr's
 * `ctr: <message>` form, and parsing `<name> key=value…` arguments.
 */
import type { Command } from "commander";
import { Client, DEFAULT_ADDRESS } from "@containerts/client";
import { normalize } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";

/** Global options (set on the root program). */
export interface GlobalOptions {
  readonly address: string;
  readonly namespace: string;
  readonly timeout: string;
  readonly connectTimeout: string;
  readonly debug: boolean;
}

/** An error that ends the command with a message and exit code, without a stack. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Parses a Go-style duration ("10s", "500ms", "1m30s", "0") into milliseconds. */
export function parseDuration(s: string): number {
  if (s === "" || s === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    const n = Number(m[1]);
    const unit = m[2];
    total += unit === "h" ? n * 3_600_000 : unit === "m" ? n * 60_000 : unit === "s" ? n * 1000 : unit === "ms" ? n : unit === "ns" ? n / 1e6 : n / 1e3;
    consumed += m[0].length;
  }
  if (consumed !== s.length) throw new CommandError(`invalid duration "${s}"`);
  return total;
}

/** The global options of the program that owns `cmd`. */
export function globals(cmd: Command): GlobalOptions {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  return root.opts<GlobalOptions>();
}

/**
 * Connects to the daemon with the global options, runs `fn` with a client and a context (namespace from
 * `--namespace`, cancelled by `--timeout` when set and by SIGINT), and closes the client.
 */
export async function withClient<T>(cmd: Command, fn: (client: Client, ctx: Context) => Promise<T>): Promise<T> {
  const g = globals(cmd);
  const client = await Client.connect(g.address || DEFAULT_ADDRESS, {
    namespace: g.namespace,
    connectTimeoutMs: parseDuration(g.connectTimeout) || 10_000,
  });
  const timeoutMs = parseDuration(g.timeout);
  const ac = new AbortController();
  const timer = timeoutMs > 0 ? setTimeout(() => ac.abort(new DOMException("deadline exceeded", "TimeoutError")), timeoutMs) : undefined;
  try {
    return await fn(client, client.context(ac.signal));
  } finally {
    if (timer) clearTimeout(timer);
    client.close();
  }
}

/** Splits `<name> [key=value…]` like ctr's ObjectWithLabelArgs. */
export function objectWithLabelArgs(args: readonly string[]): [string, Record<string, string>] {
  const [name = "", ...rest] = args;
  return [name, labelArgs(rest)];
}

/** Parses `key=value` arguments like ctr's LabelArgs (a bare key gets the value "true"). */
export function labelArgs(args: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf("=");
    if (i < 0) labels[a] = "true";
    else labels[a.slice(0, i)] = a.slice(i + 1);
  }
  return labels;
}

/** Formats an error the way ctr does on exit. */
export function errorLine(err: unknown): string {
  if (err instanceof CommandError) return `ctr: ${err.message}`;
  return `ctr: ${normalize(err).message}`;
}

/** Writes a line to stdout. */
export function println(s = ""): void {
  process.stdout.write(`${s}\n`);
}
