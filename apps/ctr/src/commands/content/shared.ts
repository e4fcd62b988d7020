/** Formatting and parsing shared by the `content` commands: go-units sizes and durations, go-digest parsing, logrus lines. */
import { normalize } from "@containerts/errdefs";

import { CommandError } from "../../cli.js";

/** Go's `%.4g` for a finite non-negative number. */
function formatG4(x: number): string {
  if (x === 0) return "0";
  const s = x.toPrecision(4);
  const e = s.indexOf("e");
  const strip = (m: string) => (m.includes(".") ? m.replace(/\.?0+$/, "") : m);
  if (e < 0) return strip(s);
  const exp = Number(s.slice(e + 1));
  return `${strip(s.slice(0, e))}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/** go-units `HumanSize`: powers of 1000, four significant digits (`3MB`, `1.049MB`, `512B`). */
export function humanSize(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
  let size = n;
  let i = 0;
  while (size >= 1000 && i < units.length - 1) {
    size /= 1000;
    i++;
  }
  return `${formatG4(size)}${units[i]}`;
}

/** go-units `HumanDuration` of the time elapsed since `since`. */
export function humanDuration(since: Date, now = Date.now()): string {
  const ms = now - since.getTime();
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

const digestLengths: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/**
 * Validates a digest as go-digest's `Parse` does.
 * @throws CommandError `invalid checksum digest format`, `unsupported digest algorithm` or
 *   `invalid checksum digest length`.
 */
export function parseDigestArg(s: string): string {
  const i = s.indexOf(":");
  if (i < 1 || i + 1 === s.length) throw new CommandError("invalid checksum digest format");
  const alg = s.slice(0, i);
  if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/.test(alg)) throw new CommandError("invalid checksum digest format");
  const want = digestLengths[alg];
  if (want === undefined) throw new CommandError("unsupported digest algorithm");
  const hex = s.slice(i + 1);
  if (hex.length !== want) throw new CommandError("invalid checksum digest length");
  if (!/^[a-f0-9]+$/.test(hex)) throw new CommandError("invalid checksum digest format");
  return s;
}

/** Go's `time.Now().Format(time.RFC3339)` in the local zone, as logrus stamps ctr's log lines. */
function rfc3339Now(): string {
  const d = new Date();
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60_000).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const abs = Math.abs(off);
  return `${local}${off > 0 ? "+" : "-"}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** A logrus line on stderr (`time=… level=… msg=… [error=…] [k=v…]`), as ctr logs. */
export function logLine(level: "error" | "warning" | "debug", msg: string, fields: Readonly<Record<string, unknown>> = {}): void {
  let line = `time="${rfc3339Now()}" level=${level} msg=${JSON.stringify(msg)}`;
  for (const [k, v] of Object.entries(fields)) {
    const s = k === "error" ? normalize(v).message : String(v);
    line += ` ${k}=${/^[A-Za-z0-9./:_@-]+$/.test(s) ? s : JSON.stringify(s)}`;
  }
  process.stderr.write(`${line}\n`);
}

/** Labels as ctr prints them: `k=v` pairs joined with commas, sorted for a stable order. */
export function labelsString(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(",");
}

/** Writes `chunk` to stdout, waiting for the stream to drain when its buffer is full. */
export function writeStdout(chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = process.stdout.write(chunk, (err) => {
      if (err) reject(err);
    });
    if (ok) resolve();
    else process.stdout.once("drain", resolve);
  });
}
