/** Small file-system helpers of the local store: status files, timestamps, directory fsync. */
import { open, readFile, rename, rm, writeFile } from "node:fs/promises";

/** Suffix of the temporary files written before a rename; leftovers are removed when a store opens. */
export const tempSuffix = ".tmp";

/** Node's error code of a failed fs call, if any. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

/** True for "no such file or directory". */
export function isENOENT(err: unknown): boolean {
  return errnoCode(err) === "ENOENT";
}

/**
 * Replaces `path` atomically with `data`: write `<path>.tmp`, rename over `path`.
 * No fsync: the files written this way only describe an ingest, and a torn one is detected and the
 * ingest re-initialised (see the store's resume logic).
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = path + tempSuffix;
  try {
    await writeFile(tmp, data, { mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Reads a whole file as UTF-8 text. */
export async function readText(path: string): Promise<string> {
  return readFile(path, "utf8");
}

/** Formats a time as RFC 3339 with fraction, the form containerd's `time.MarshalText` writes. */
export function formatTimestamp(d: Date): string {
  return d.toISOString();
}

const rfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses an RFC 3339 timestamp (any number of fraction digits, as Go writes them).
 * Returns undefined when the text is not one.
 */
export function parseTimestamp(text: string): Date | undefined {
  const m = rfc3339.exec(text.trim());
  if (!m) return undefined;
  const fraction = (m[2] ?? "").slice(0, 3).padEnd(3, "0");
  const d = new Date(`${m[1]}.${fraction}${m[3]}`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** fsyncs a directory so that entries created or removed in it are durable. */
export async function syncDir(path: string): Promise<void> {
  const h = await open(path, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
