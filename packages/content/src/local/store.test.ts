import { createHash } from "node:crypto";
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { kindOf } from "@containerts/errdefs";
import { background } from "@containerts/namespaces";
import { afterEach, describe, expect, it } from "vitest";

import { digestOf } from "../digest.js";
import { readBlob, writeBlob } from "../helpers.js";
import { contentSuite } from "../testsuite/index.js";
import { parseTimestamp } from "./files.js";
import { formatDuration } from "./locks.js";
import { LocalContentStore } from "./store.js";

contentSuite("local", async () => {
  const dir = await mkdtemp(join(tmpdir(), "containerts-content-"));
  return {
    store: await LocalContentStore.open(dir),
    ctx: background(),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

const ingestKey = (ref: string): string => createHash("sha256").update(ref).digest("hex");

describe("LocalContentStore (local only)", () => {
  const dirs: string[] = [];
  const ctx = background();
  const tempRoot = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), "containerts-content-"));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it("uses containerd's layout: read-only blobs/<alg>/<hex> and ingest/<sha256(ref)>/…", async () => {
    const root = await tempRoot();
    const store = await LocalContentStore.open(root);
    const w = await store.writer(ctx, { ref: "layout", total: 5 });
    await w.write(new TextEncoder().encode("hel"));
    const ingest = join(root, "ingest", ingestKey("layout"));
    expect((await readdir(ingest)).sort()).toEqual(["data", "ref", "startedat", "total", "updatedat"]);
    expect(await readFile(join(ingest, "ref"), "utf8")).toBe("layout");
    expect(await readFile(join(ingest, "total"), "utf8")).toBe("5");
    expect(parseTimestamp(await readFile(join(ingest, "startedat"), "utf8"))).toBeInstanceOf(Date);
    await w.write(new TextEncoder().encode("lo"));
    const dgst = digestOf("hello");
    await w.commit(5, dgst);
    const blob = join(root, "blobs", "sha256", dgst.slice("sha256:".length));
    const st = await stat(blob);
    expect(st.mode & 0o777).toBe(0o444);
    expect(st.nlink).toBe(1);
    expect(await readFile(blob, "utf8")).toBe("hello");
    await expect(stat(ingest)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("keeps labels in memory only", async () => {
    const root = await tempRoot();
    const store = await LocalContentStore.open(root);
    const bytes = new TextEncoder().encode("labelled");
    await writeBlob(store, ctx, "l", bytes, { labels: { a: "b" } });
    const dgst = digestOf(bytes);
    expect((await store.info(ctx, dgst)).labels).toEqual({ a: "b" });
    const reopened = await LocalContentStore.open(root);
    expect((await reopened.info(ctx, dgst)).labels).toEqual({});
  });

  it("resumes an ingest written by containerd (nanosecond timestamps, no total)", async () => {
    const root = await tempRoot();
    const ingest = join(root, "ingest", ingestKey("go-ref"));
    await mkdir(ingest, { recursive: true });
    await writeFile(join(ingest, "ref"), "go-ref");
    await writeFile(join(ingest, "data"), "abc");
    await writeFile(join(ingest, "startedat"), "2026-11-28T11:57:56.39754602Z");
    await writeFile(join(ingest, "updatedat"), "2026-11-28T12:57:56.123456789+01:00");
    const store = await LocalContentStore.open(root);
    const st = await store.status(ctx, "go-ref");
    expect(st.offset).toBe(3);
    expect(st.total).toBe(0);
    expect(st.startedAt.toISOString()).toBe("2026-11-28T11:57:56.397Z");
    const w = await store.writer(ctx, { ref: "go-ref", total: 6 });
    expect(w.offset).toBe(3);
    expect(w.digest()).toBe(digestOf("abc"));
    expect((await w.status()).total).toBe(6);
    await w.write(new TextEncoder().encode("def"));
    await w.commit(6, digestOf("abcdef"));
    expect(new TextDecoder().decode(await readBlob(store, ctx, digestOf("abcdef")))).toBe("abcdef");
  });

  it("cleans crash leftovers on open: temp files, incomplete and already-published ingests", async () => {
    const root = await tempRoot();
    const store = await LocalContentStore.open(root);
    // A resumable ingest with a torn status-file rewrite next to it.
    const w = await store.writer(ctx, { ref: "keep" });
    await w.write(new Uint8Array(10));
    await w.close();
    const keep = join(root, "ingest", ingestKey("keep"));
    await writeFile(join(keep, "updatedat.tmp"), "2026-");
    // An ingest whose data file was never created.
    const noData = join(root, "ingest", ingestKey("no-data"));
    await mkdir(noData);
    await writeFile(join(noData, "startedat"), new Date().toISOString());
    // An ingest whose data was published but the directory not yet removed.
    const bytes = new TextEncoder().encode("published");
    const dgst = digestOf(bytes);
    await writeBlob(store, ctx, "pub", bytes, { expected: dgst });
    const pub = join(root, "ingest", ingestKey("pub"));
    await mkdir(pub);
    await writeFile(join(pub, "ref"), "pub");
    await link(join(root, "blobs", "sha256", dgst.slice(7)), join(pub, "data"));
    // A stray file.
    await writeFile(join(root, "ingest", "stray"), "x");

    const reopened = await LocalContentStore.open(root);
    expect((await readdir(join(root, "ingest"))).sort()).toEqual([ingestKey("keep")]);
    expect((await readdir(keep)).sort()).toEqual(["data", "ref", "startedat", "updatedat"]);
    expect((await reopened.status(ctx, "keep")).offset).toBe(10);
    expect(Buffer.compare(await readBlob(reopened, ctx, dgst), bytes)).toBe(0);
    expect((await stat(join(root, "blobs", "sha256", dgst.slice(7)))).nlink).toBe(1);
  });

  it("never writes into a published blob when reopening an ingest that shares its inode", async () => {
    const root = await tempRoot();
    const store = await LocalContentStore.open(root);
    const bytes = new TextEncoder().encode("immutable");
    const dgst = digestOf(bytes);
    await writeBlob(store, ctx, "imm", bytes, { expected: dgst });
    const dir = join(root, "ingest", ingestKey("imm"));
    await mkdir(dir);
    await writeFile(join(dir, "ref"), "imm");
    await writeFile(join(dir, "startedat"), new Date().toISOString());
    await link(join(root, "blobs", "sha256", dgst.slice(7)), join(dir, "data"));
    const w = await store.writer(ctx, { ref: "imm" });
    expect(w.offset).toBe(0);
    await w.write(new TextEncoder().encode("other"));
    await w.close();
    expect(Buffer.compare(await readBlob(store, ctx, dgst), bytes)).toBe(0);
  });

  it("fails a commit after abort with NotFound and publishes nothing", async () => {
    const root = await tempRoot();
    const store = await LocalContentStore.open(root);
    const w = await store.writer(ctx, { ref: "gone" });
    await w.write(new Uint8Array(3));
    await store.abort(ctx, "gone");
    const err = await w.commit(3).catch((e: unknown) => e);
    expect(kindOf(err)).toBe("NotFound");
    const seen: string[] = [];
    await store.walk(ctx, (i) => void seen.push(i.digest));
    expect(seen).toEqual([]);
  });

  it("gives up on a locked ref with containerd's message", async () => {
    const root = await tempRoot();
    const store = await LocalContentStore.open(root);
    const w = await store.writer(ctx, { ref: "busy" });
    try {
      const err = await store.writer(ctx, { ref: "busy" }).catch((e: unknown) => e);
      expect(kindOf(err)).toBe("Unavailable");
      expect((err as Error).message).toMatch(/^ref busy locked for [0-9.]+(ns|µs|ms|s) \(since .+\): unavailable$/);
    } finally {
      await w.close();
    }
  });

  it("stops waiting for a locked ref when the context is cancelled", async () => {
    const root = await tempRoot();
    const store = await LocalContentStore.open(root);
    const w = await store.writer(ctx, { ref: "busy" });
    try {
      const ac = new AbortController();
      ac.abort();
      const err = await store.writer(background(ac.signal), { ref: "busy" }).catch((e: unknown) => e);
      expect(kindOf(err)).toBe("Canceled");
    } finally {
      await w.close();
    }
  });

  it("stops a read when its signal aborts, and refuses writes on a closed writer", async () => {
    const root = await tempRoot();
    const store = await LocalContentStore.open(root);
    const bytes = new Uint8Array(3 * 1024 * 1024).fill(9);
    const dgst = digestOf(bytes);
    await writeBlob(store, ctx, "abortable", bytes, { expected: dgst });
    const ac = new AbortController();
    let chunks = 0;
    const err = await (async () => {
      for await (const _ of store.read(ctx, dgst, { signal: ac.signal })) {
        chunks++;
        ac.abort();
      }
    })().catch((e: unknown) => e);
    expect(kindOf(err)).toBe("Canceled");
    expect(chunks).toBe(1);

    const w = await store.writer(ctx, { ref: "closed" });
    await w.close();
    await w.close();
    expect(kindOf(await w.write(new Uint8Array(1)).catch((e: unknown) => e))).toBe("FailedPrecondition");
    expect(kindOf(await w.commit(0).catch((e: unknown) => e))).toBe("FailedPrecondition");
    expect(kindOf(await w.truncate(1).catch((e: unknown) => e))).toBe("InvalidArgument");
  });

  it("formats durations like Go", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(0.0005)).toBe("500ns");
    expect(formatDuration(0.25)).toBe("250µs");
    expect(formatDuration(612.5)).toBe("612.5ms");
    expect(formatDuration(1500)).toBe("1.5s");
    expect(formatDuration(123_000)).toBe("2m3s");
  });
});
