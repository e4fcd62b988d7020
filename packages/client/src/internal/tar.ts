/**
 * Reading and writing image archives as tar streams. Reading goes through node-tar's parser (PAX and
 * GNU long names, gzip/zstd detection) one entry at a time with backpressure, and refuses any entry
 * whose path — or whose link target — would leave the archive's root. Writing produces the plain ustar
 * records of containerd's exporter.
 */
import { once } from "node:events";

import { CanceledError, InvalidArgumentError, normalize } from "@containerts/errdefs";
import { Header, Parser, type ReadEntry } from "tar";

import { Deferred } from "./concurrency.js";

/** An archive entry as the importer sees it. */
export interface TarEntry {
  /** The cleaned path relative to the archive root (`blobs/sha256/…`, `index.json`). */
  readonly path: string;
  readonly type: "file" | "directory" | "symlink" | "hardlink" | "other";
  /** Bytes of data (files). */
  readonly size: number;
  /** For links: the target as a cleaned path relative to the archive root. */
  readonly target?: string;
}

/**
 * Cleans an archive path (`./a//b/` → `a/b`, `.` → ``).
 * @throws InvalidArgumentError `archive entry "<name>": absolute path not allowed` or
 *   `archive entry "<name>": path escapes the archive root`.
 */
export function cleanArchivePath(name: string, what = `archive entry ${JSON.stringify(name)}`): string {
  if (name.startsWith("/")) throw new InvalidArgumentError(`${what}: absolute path not allowed`);
  const out: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) throw new InvalidArgumentError(`${what}: path escapes the archive root`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join("/");
}

function describe(entry: ReadEntry): TarEntry {
  const raw = entry.path;
  const path = cleanArchivePath(raw);
  const what = `archive entry ${JSON.stringify(raw)}`;
  switch (entry.type) {
    case "File":
    case "OldFile":
    case "ContiguousFile":
      return { path, type: "file", size: entry.size };
    case "Directory":
      return { path, type: "directory", size: 0 };
    case "SymbolicLink": {
      const link = entry.linkpath ?? "";
      if (link.startsWith("/")) throw new InvalidArgumentError(`${what}: symlink to absolute path ${JSON.stringify(link)} not allowed`);
      const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
      const target = cleanArchivePath(dir === "" ? link : `${dir}/${link}`, `${what}: symlink target ${JSON.stringify(link)}`);
      return { path, type: "symlink", size: 0, target };
    }
    case "Link": {
      const link = entry.linkpath ?? "";
      const target = cleanArchivePath(link, `${what}: link target ${JSON.stringify(link)}`);
      return { path, type: "hardlink", size: 0, target };
    }
    default:
      return { path, type: "other", size: 0 };
  }
}

/**
 * Reads a tar stream (optionally gzip- or zstd-compressed) entry by entry. `onEntry` gets each entry and
 * its data; the next entry is read only once it has returned (data it did not read is skipped).
 *
 * @throws InvalidArgumentError for an entry escaping the root, or a malformed archive
 *   (`invalid archive: …`).
 * @throws CanceledError when `signal` aborts; whatever `onEntry` throws.
 */
export async function readTar(
  source: AsyncIterable<Uint8Array>,
  onEntry: (entry: TarEntry, data: AsyncIterable<Uint8Array>) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const parser = new Parser({ strict: true });
  const failed = new Deferred<void>();
  let failure: unknown;
  const fail = (err: unknown) => {
    if (failed.settled) return;
    failure = err;
    failed.resolve();
  };
  const onAbort = () => fail(normalize(signal?.reason ?? new CanceledError("")));
  signal?.addEventListener("abort", onAbort, { once: true });
  let chain = Promise.resolve();
  let entries = 0;
  parser.on("entry", (entry: ReadEntry) => {
    entries++;
    chain = chain.then(async () => {
      if (!failed.settled) {
        try {
          await onEntry(describe(entry), entry);
        } catch (err) {
          fail(err);
        }
      }
      if (!entry.emittedEnd) entry.resume();
    });
  });
  const bad = (err: unknown) => fail(new InvalidArgumentError(`invalid archive: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
  parser.on("error", bad);
  parser.on("abort", bad);
  const ended = new Promise<void>((resolve) => parser.on("end", () => resolve()));
  try {
    for await (const chunk of source) {
      if (failed.settled) break;
      if (!parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
        await Promise.race([once(parser, "drain"), failed.promise]);
      }
    }
    if (!failed.settled) {
      parser.end();
      await Promise.race([ended, failed.promise]);
    }
    await chain;
  } catch (err) {
    fail(err);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (failed.settled) throw failure;
  if (entries === 0) throw new InvalidArgumentError("invalid archive: no entries");
}

/** One record of a tar stream being written. */
export interface TarRecord {
  readonly path: string;
  readonly type: "file" | "directory";
  readonly mode: number;
  readonly size: number;
}

const BLOCK = 512;

/** The header block(s) of a record: ustar fields as containerd's exporter sets them (owner 0, time 0). */
export function tarHeader(r: TarRecord): Buffer {
  const block = Buffer.alloc(BLOCK);
  const h = new Header({
    path: r.path,
    mode: r.mode,
    size: r.type === "file" ? r.size : 0,
    type: r.type === "file" ? "File" : "Directory",
    uid: 0,
    gid: 0,
    mtime: new Date(0),
    uname: "",
    gname: "",
  });
  if (h.encode(block, 0)) throw new InvalidArgumentError(`archive path ${JSON.stringify(r.path)} is too long for a ustar header`);
  return block;
}

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The end-of-archive marker (two zero blocks). */
export function tarTrailer(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}
