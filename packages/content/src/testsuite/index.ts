/**
 * `@containerts/content/testsuite`: the conformance cases every {@link ContentStore} implementation
 * runs (containerd's `content/testsuite`), as vitest `describe`/`it` blocks.
 *
 * ```ts
 * contentSuite("local", async () => {
 *   const dir = await mkdtemp(join(tmpdir(), "content-"));
 *   return { store: await LocalContentStore.open(dir), ctx: background(), cleanup: () => rm(dir, { recursive: true }) };
 * });
 * ```
 */
import { randomBytes } from "node:crypto";

import { kindOf, type ErrorKind } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { maxChunkSize, type ContentInfo, type ContentStore, type ContentWriter } from "../content.js";
import { digestOf, emptyDigest, type Digest } from "../digest.js";
import { readBlob, writeBlob } from "../helpers.js";

/** What a {@link contentSuite} factory returns: a fresh, empty store and the context to call it with. */
export interface ContentSuiteFixture {
  readonly store: ContentStore;
  readonly ctx: Context;
  /** Releases everything the factory created; called after each case, even a failed one. */
  cleanup(): Promise<void>;
}

/** Creates a fresh, empty store for one case. */
export type ContentSuiteFactory = () => Promise<ContentSuiteFixture>;

/** Random bytes and their digest. */
function content(size: number): { bytes: Uint8Array; dgst: Digest } {
  const bytes = new Uint8Array(randomBytes(size));
  return { bytes, dgst: digestOf(bytes) };
}

/** Runs `fn` and returns the kind of error it threw (failing the case when it did not throw). */
async function errorKind(fn: () => Promise<unknown>): Promise<{ kind: ErrorKind | undefined; message: string }> {
  try {
    await fn();
  } catch (err) {
    return { kind: kindOf(err), message: err instanceof Error ? err.message : String(err) };
  }
  throw new Error("expected an error, the call succeeded");
}

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<{ data: Uint8Array; chunks: number[] }> {
  const chunks: Uint8Array[] = [];
  for await (const c of iterable) chunks.push(new Uint8Array(c));
  const data = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.byteLength;
  }
  return { data, chunks: chunks.map((c) => c.byteLength) };
}

/** Asserts byte-wise equality (whatever Uint8Array subclass the store returns). */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.byteLength).toBe(expected.byteLength);
  expect(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)).toBe(true);
}

async function writeAll(w: ContentWriter, bytes: Uint8Array, piece = 64 * 1024): Promise<void> {
  for (let i = 0; i < bytes.byteLength; i += piece) await w.write(bytes.subarray(i, i + piece));
}

async function* stream(bytes: Uint8Array, piece: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += piece) yield bytes.subarray(i, i + piece);
}

/** Tolerance for comparing store timestamps with the test's clock (file systems and wire conversions round). */
const clockSlack = 1000;

function expectBetween(d: Date, before: number, after: number): void {
  expect(d).toBeInstanceOf(Date);
  expect(d.getTime()).toBeGreaterThanOrEqual(before - clockSlack);
  expect(d.getTime()).toBeLessThanOrEqual(after + clockSlack);
}

async function walkAll(store: ContentStore, ctx: Context, filters?: readonly string[]): Promise<ContentInfo[]> {
  const out: ContentInfo[] = [];
  await store.walk(ctx, (info) => void out.push(info), filters);
  return out;
}

/**
 * Registers the content store conformance cases under `describe(name)`. `factory` is called before
 * each case and its `cleanup` after it.
 */
export function contentSuite(name: string, factory: ContentSuiteFactory): void {
  describe(`content store conformance: ${name}`, () => {
    let fx: ContentSuiteFixture | undefined;
    let store: ContentStore;
    let ctx: Context;

    beforeEach(async () => {
      fx = await factory();
      store = fx.store;
      ctx = fx.ctx;
    });
    afterEach(async () => {
      const f = fx;
      fx = undefined;
      await f?.cleanup();
    });

    describe("writer", () => {
      it("writes, reports status and commits with labels", async () => {
        const { bytes, dgst } = content(256);
        const before = Date.now();
        const w = await store.writer(ctx, { ref: "c1", total: 256, expected: dgst });
        try {
          expect(w.ref).toBe("c1");
          expect(w.offset).toBe(0);
          expect(w.digest()).toBe(emptyDigest);
          const s0 = await w.status();
          expect(s0).toMatchObject({ ref: "c1", offset: 0, total: 256 });
          expectBetween(s0.startedAt, before, Date.now());

          await w.write(bytes.subarray(0, 64));
          expect(w.offset).toBe(64);
          expect(w.digest()).toBe(digestOf(bytes.subarray(0, 64)));
          await w.write(bytes.subarray(64, 192));
          await w.write(bytes.subarray(192));
          const s1 = await w.status();
          expect(s1).toMatchObject({ ref: "c1", offset: 256, total: 256 });
          expect(s1.updatedAt.getTime()).toBeGreaterThanOrEqual(s1.startedAt.getTime());
          expect(w.digest()).toBe(dgst);

          const labels = { k1: "v1", "containerd.io/gc.root": new Date().toISOString() };
          const preCommit = Date.now();
          await w.commit(256, dgst, { labels });
          const postCommit = Date.now();
          expect(w.digest()).toBe(dgst);

          const info = await store.info(ctx, dgst);
          expect(info).toMatchObject({ digest: dgst, size: 256, labels });
          expectBetween(info.createdAt, preCommit, postCommit);
          expectBetween(info.updatedAt, preCommit, postCommit);
          expectBytes(await readBlob(store, ctx, dgst), bytes);
        } finally {
          await w.close();
        }
      });

      it("commits with and without known size and digest", async () => {
        const cases = [
          { ref: "c1", sized: false, digested: false },
          { ref: "c2", sized: true, digested: false },
          { ref: "c3", sized: false, digested: true },
          { ref: "c4", sized: true, digested: true },
        ];
        for (const c of cases) {
          const { bytes, dgst } = content(256);
          const w = await store.writer(ctx, {
            ref: c.ref,
            ...(c.sized ? { total: bytes.byteLength } : {}),
            ...(c.digested ? { expected: dgst } : {}),
          });
          try {
            await writeAll(w, bytes, 32);
            await w.commit(0);
            expect(w.digest()).toBe(dgst);
          } finally {
            await w.close();
          }
          expect((await store.info(ctx, dgst)).size).toBe(256);
          await expect(store.status(ctx, c.ref)).rejects.toMatchObject({ kind: "NotFound" });
        }
      });

      it("commits an empty blob", async () => {
        const w = await store.writer(ctx, { ref: "empty" });
        try {
          await w.commit(0, emptyDigest);
        } finally {
          await w.close();
        }
        expect((await store.info(ctx, emptyDigest)).size).toBe(0);
        expect((await collect(store.read(ctx, emptyDigest))).data.byteLength).toBe(0);
      });

      it("rejects an empty ref and an invalid expected digest", async () => {
        expect((await errorKind(() => store.writer(ctx, { ref: "" }))).kind).toBe("InvalidArgument");
        expect((await errorKind(() => store.writer(ctx, { ref: "x", expected: "sha256:nothex" }))).kind).toBe(
          "InvalidArgument",
        );
      });

      it("resumes an ingest after close", async () => {
        const { bytes, dgst } = content(256);
        const first = bytes.subarray(0, 128);
        const w1 = await store.writer(ctx, { ref: "cb", total: 256, expected: dgst });
        let startedAt: Date;
        try {
          await w1.write(first);
          startedAt = (await w1.status()).startedAt;
        } finally {
          await w1.close();
        }
        const st = await store.status(ctx, "cb");
        expect(st).toMatchObject({ ref: "cb", offset: 128, total: 256 });

        const w2 = await store.writer(ctx, { ref: "cb", total: 256, expected: dgst });
        try {
          expect(w2.offset).toBe(128);
          expect(w2.digest()).toBe(digestOf(first));
          const s = await w2.status();
          expect(s).toMatchObject({ ref: "cb", offset: 128, total: 256 });
          expect(Math.abs(s.startedAt.getTime() - startedAt.getTime())).toBeLessThanOrEqual(clockSlack);
          await w2.write(bytes.subarray(128));
          expect(w2.digest()).toBe(dgst);
          await w2.commit(0);
        } finally {
          await w2.close();
        }
        expectBytes(await readBlob(store, ctx, dgst), bytes);
      });

      it("restarts an ingest reopened with a different total", async () => {
        const { bytes } = content(100);
        const w1 = await store.writer(ctx, { ref: "t", total: 100 });
        try {
          await w1.write(bytes.subarray(0, 40));
        } finally {
          await w1.close();
        }
        const w2 = await store.writer(ctx, { ref: "t", total: 200 });
        try {
          expect(w2.offset).toBe(0);
          expect(w2.digest()).toBe(emptyDigest);
          expect((await w2.status()).total).toBe(200);
        } finally {
          await w2.close();
        }
      });

      it("truncates to 0 and rewrites", async () => {
        const { bytes, dgst } = content(300);
        const w = await store.writer(ctx, { ref: "tr" });
        try {
          await w.write(new Uint8Array(100).fill(7));
          await w.truncate(0);
          expect(w.offset).toBe(0);
          expect(w.digest()).toBe(emptyDigest);
          await w.write(bytes);
          await w.commit(300, dgst);
        } finally {
          await w.close();
        }
        expectBytes(await readBlob(store, ctx, dgst), bytes);
      });

      it("lets exactly one of two concurrent writers hold a ref; the other gets Unavailable", async () => {
        const results = await Promise.allSettled([
          store.writer(ctx, { ref: "contended" }),
          store.writer(ctx, { ref: "contended" }),
        ]);
        const won = results.filter((r) => r.status === "fulfilled");
        const lost = results.filter((r) => r.status === "rejected");
        try {
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(1);
          const reason = (lost[0] as PromiseRejectedResult).reason;
          expect(kindOf(reason)).toBe("Unavailable");
          expect(String((reason as Error).message)).toMatch(/locked/);
          // While held, a third writer is refused too.
          expect((await errorKind(() => store.writer(ctx, { ref: "contended" }))).kind).toBe("Unavailable");
        } finally {
          for (const r of won) await r.value.close();
        }
        // Released by close: the ref can be opened again.
        const again = await store.writer(ctx, { ref: "contended" });
        await again.close();
      });

      it("fails a commit with the wrong size or digest, publishes nothing and keeps the ingest", async () => {
        const { bytes, dgst } = content(256);
        const other = content(256).dgst;
        const ref = "commit-error";
        const w1 = await store.writer(ctx, { ref });
        try {
          await w1.write(bytes);
          const e = await errorKind(() => w1.commit(255, dgst));
          expect(e.kind).toBe("FailedPrecondition");
          expect(e.message).toContain("unexpected commit size 256, expected 255");
        } finally {
          await w1.close();
        }
        await expect(store.info(ctx, dgst)).rejects.toMatchObject({ kind: "NotFound" });
        expect((await store.status(ctx, ref)).offset).toBe(256);

        const w2 = await store.writer(ctx, { ref });
        try {
          expect(w2.offset).toBe(256);
          const e = await errorKind(() => w2.commit(256, other));
          expect(e.kind).toBe("FailedPrecondition");
          expect(e.message).toContain(`unexpected commit digest ${dgst}, expected ${other}`);
        } finally {
          await w2.close();
        }
        await expect(store.info(ctx, dgst)).rejects.toMatchObject({ kind: "NotFound" });
        await expect(store.info(ctx, other)).rejects.toMatchObject({ kind: "NotFound" });
        expect(await walkAll(store, ctx)).toEqual([]);

        // Still resumable: the right commit succeeds.
        const w3 = await store.writer(ctx, { ref });
        try {
          expect(w3.offset).toBe(256);
          await w3.commit(256, dgst);
        } finally {
          await w3.close();
        }
        expectBytes(await readBlob(store, ctx, dgst), bytes);
      });

      it("reports AlreadyExists for existing content at open and at commit, and drops the ingest", async () => {
        const { bytes, dgst } = content(256);
        await writeBlob(store, ctx, "c1", bytes, { expected: dgst });

        expect((await errorKind(() => store.writer(ctx, { ref: "again", expected: dgst }))).kind).toBe("AlreadyExists");

        for (const [i, expected] of [dgst, undefined].entries()) {
          const ref = `commit-exists-${i}`;
          const w = await store.writer(ctx, { ref });
          try {
            await w.write(bytes);
            const e = await errorKind(() => w.commit(256, expected));
            expect(e.kind).toBe("AlreadyExists");
          } finally {
            await w.close();
          }
          await expect(store.status(ctx, ref)).rejects.toMatchObject({ kind: "NotFound" });
          // The ref is free again.
          const w2 = await store.writer(ctx, { ref });
          expect(w2.offset).toBe(0);
          await w2.close();
        }
        // writeBlob treats an existing blob as success, without reading the source.
        await writeBlob(store, ctx, "c1-again", bytes, { expected: dgst });
      });
    });

    describe("reads", () => {
      it("reads at offsets and sizes", async () => {
        const { bytes, dgst } = content(10_000);
        await writeBlob(store, ctx, "r", bytes, { total: bytes.byteLength, expected: dgst });
        const read = async (o: { offset?: number; size?: number }) => (await collect(store.read(ctx, dgst, o))).data;
        expectBytes(await read({}), bytes);
        expectBytes(await read({ offset: 1234 }), bytes.subarray(1234));
        expectBytes(await read({ offset: 1234, size: 100 }), bytes.subarray(1234, 1334));
        expectBytes(await read({ offset: 9_990, size: 100 }), bytes.subarray(9_990));
        expectBytes(await read({ offset: -5, size: 10 }), bytes.subarray(0, 10));
        expectBytes(await read({ offset: 10_000 }), new Uint8Array(0));
        const e = await errorKind(() => read({ offset: 10_001 }));
        expect(e.kind).toBe("OutOfRange");
        expect(e.message).toContain("read past object length 10000 bytes");

        const ra = await store.readerAt(ctx, { digest: dgst });
        try {
          expect(ra.size).toBe(10_000);
          const buf = new Uint8Array(500);
          expect(await ra.readAt(buf, 100)).toBe(500);
          expectBytes(buf, bytes.subarray(100, 600));
          expect(await ra.readAt(buf, 9_800)).toBe(200);
          expectBytes(buf.subarray(0, 200), bytes.subarray(9_800));
          expect(await ra.readAt(buf, 10_000)).toBe(0);
          expect(await ra.readAt(buf, 0, 10)).toBe(10);
        } finally {
          await ra.close();
        }
      });

      it("reports NotFound and InvalidArgument for missing and malformed digests", async () => {
        const missing = content(10).dgst;
        expect((await errorKind(() => store.info(ctx, missing))).kind).toBe("NotFound");
        expect((await errorKind(() => collect(store.read(ctx, missing)))).kind).toBe("NotFound");
        expect((await errorKind(() => store.readerAt(ctx, { digest: missing }))).kind).toBe("NotFound");
        expect((await errorKind(() => store.info(ctx, "sha256:abc"))).kind).toBe("InvalidArgument");
        expect((await errorKind(() => store.info(ctx, "md5:d41d8cd98f00b204e9800998ecf8427e"))).kind).toBe(
          "InvalidArgument",
        );
      });

      it("round-trips a 20 MiB blob in chunks of at most 1 MiB", async () => {
        const { bytes, dgst } = content(20 * 1024 * 1024);
        await writeBlob(store, ctx, "big", stream(bytes, 700 * 1024), { total: bytes.byteLength, expected: dgst });
        const info = await store.info(ctx, dgst);
        expect(info.size).toBe(bytes.byteLength);
        const { data, chunks } = await collect(store.read(ctx, dgst));
        expect(chunks.every((n) => n > 0 && n <= maxChunkSize)).toBe(true);
        expect(data.byteLength).toBe(bytes.byteLength);
        expect(digestOf(data)).toBe(dgst);
      });
    });

    describe("helpers", () => {
      it("writeBlob resumes a partial ingest from memory and restarts one from a stream", async () => {
        const { bytes, dgst } = content(50_000);
        const w = await store.writer(ctx, { ref: "partial", total: bytes.byteLength, expected: dgst });
        try {
          await w.write(bytes.subarray(0, 20_000));
        } finally {
          await w.close();
        }
        await writeBlob(store, ctx, "partial", bytes, { total: bytes.byteLength, expected: dgst });
        expectBytes(await readBlob(store, ctx, dgst), bytes);

        const b = content(30_000);
        const w2 = await store.writer(ctx, { ref: "partial-stream", total: 30_000 });
        try {
          await w2.write(new Uint8Array(1000).fill(1)); // not a prefix of b: must be discarded
        } finally {
          await w2.close();
        }
        await writeBlob(store, ctx, "partial-stream", stream(b.bytes, 4096), { total: 30_000, expected: b.dgst });
        expectBytes(await readBlob(store, ctx, b.dgst), b.bytes);
      });
    });

    describe("ingests", () => {
      it("lists, filters and reports statuses", async () => {
        const before = Date.now();
        const wa = await store.writer(ctx, { ref: "ingest-a", total: 10 });
        const wb = await store.writer(ctx, { ref: "other-b" });
        try {
          await wa.write(new Uint8Array(4));
          await wb.write(new Uint8Array(7));
          const all = await store.listStatuses(ctx);
          expect(all.map((s) => s.ref).sort()).toEqual(["ingest-a", "other-b"]);
          expect((await store.listStatuses(ctx, [""])).length).toBe(2);
          expect((await store.listStatuses(ctx, ["ref==ingest-a"])).map((s) => s.ref)).toEqual(["ingest-a"]);
          expect((await store.listStatuses(ctx, ["ref~=^other"])).map((s) => s.ref)).toEqual(["other-b"]);
          expect((await store.listStatuses(ctx, ["ref==nope"])).length).toBe(0);
          const a = await store.status(ctx, "ingest-a");
          expect(a).toMatchObject({ ref: "ingest-a", offset: 4, total: 10 });
          expectBetween(a.startedAt, before, Date.now());
          expect(a.updatedAt.getTime()).toBeGreaterThanOrEqual(a.startedAt.getTime());
          expect(await store.status(ctx, "other-b")).toMatchObject({ ref: "other-b", offset: 7, total: 0 });
        } finally {
          await wa.close();
          await wb.close();
        }
        expect((await errorKind(() => store.status(ctx, "missing"))).kind).toBe("NotFound");
      });

      it("aborts an ingest", async () => {
        const w = await store.writer(ctx, { ref: "to-abort" });
        try {
          await w.write(new Uint8Array(10));
        } finally {
          await w.close();
        }
        await store.abort(ctx, "to-abort");
        expect((await errorKind(() => store.status(ctx, "to-abort"))).kind).toBe("NotFound");
        expect(await store.listStatuses(ctx)).toEqual([]);
        const e = await errorKind(() => store.abort(ctx, "to-abort"));
        expect(e.kind).toBe("NotFound");
        expect(e.message).toContain("to-abort");
        const w2 = await store.writer(ctx, { ref: "to-abort" });
        try {
          expect(w2.offset).toBe(0);
        } finally {
          await w2.close();
        }
      });
    });

    describe("manager", () => {
      it("walks blobs with filters", async () => {
        const blobs = [content(10), content(20), content(30)];
        for (const [i, b] of blobs.entries()) {
          await writeBlob(store, ctx, `walk-${i}`, b.bytes, {
            expected: b.dgst,
            labels: { idx: String(i), ...(i === 1 ? { "containerd.io/gc.root": "x" } : {}) },
          });
        }
        const all = await walkAll(store, ctx);
        expect(all.map((i) => i.digest).sort()).toEqual(blobs.map((b) => b.dgst).sort());
        for (const info of all) {
          const b = blobs.find((x) => x.dgst === info.digest);
          expect(info.size).toBe(b?.bytes.byteLength);
        }
        const [b0, b1] = blobs as [(typeof blobs)[0], (typeof blobs)[0]];
        expect((await walkAll(store, ctx, [`digest==${b0.dgst}`])).map((i) => i.digest)).toEqual([b0.dgst]);
        expect((await walkAll(store, ctx, ['labels."containerd.io/gc.root"'])).map((i) => i.digest)).toEqual([b1.dgst]);
        expect((await walkAll(store, ctx, ["labels.idx==0", "labels.idx==1"])).length).toBe(2);
        expect((await walkAll(store, ctx, [""])).length).toBe(3);
        const boom = new Error("stop");
        await expect(
          store.walk(ctx, () => {
            throw boom;
          }),
        ).rejects.toBe(boom);
      });

      it("deletes blobs", async () => {
        const { bytes, dgst } = content(64);
        await writeBlob(store, ctx, "del", bytes, { expected: dgst });
        await store.delete(ctx, dgst);
        expect((await errorKind(() => store.info(ctx, dgst))).kind).toBe("NotFound");
        expect((await errorKind(() => collect(store.read(ctx, dgst)))).kind).toBe("NotFound");
        expect(await walkAll(store, ctx)).toEqual([]);
        expect((await errorKind(() => store.delete(ctx, dgst))).kind).toBe("NotFound");
        // It can be written again.
        await writeBlob(store, ctx, "del", bytes, { expected: dgst });
        expect((await store.info(ctx, dgst)).size).toBe(64);
      });

      it("updates labels with and without field paths", async () => {
        const { bytes, dgst } = content(256);
        const root = new Date().toISOString();
        await writeBlob(store, ctx, "labels", bytes, { expected: dgst, labels: { k1: "v1", k2: "v2", "containerd.io/gc.root": root } });
        expect((await store.info(ctx, dgst)).labels).toEqual({ k1: "v1", k2: "v2", "containerd.io/gc.root": root });

        const preUpdate = Date.now();
        const replaced = await store.update(ctx, { digest: dgst, labels: { k1: "newvalue", k3: "v3", "containerd.io/gc.root": root } });
        const postUpdate = Date.now();
        expect(replaced.labels).toEqual({ k1: "newvalue", k3: "v3", "containerd.io/gc.root": root });
        expectBetween(replaced.updatedAt, preUpdate, postUpdate);
        expect((await store.info(ctx, dgst)).labels).toEqual(replaced.labels);

        const partial = await store.update(ctx, { digest: dgst, labels: { k1: "v1" } }, ["labels.k3", "labels.k1"]);
        expect(partial.labels).toEqual({ k1: "v1", "containerd.io/gc.root": root });
        expect(partial.size).toBe(256);
        expect((await store.info(ctx, dgst)).labels).toEqual(partial.labels);

        const whole = await store.update(ctx, { digest: dgst, labels: { only: "this", empty: "" } }, ["labels"]);
        expect(whole.labels).toEqual({ only: "this" });

        const bad = await errorKind(() => store.update(ctx, { digest: dgst, size: 1 }, ["size"]));
        expect(bad.kind).toBe("InvalidArgument");
        expect(bad.message).toContain('cannot update "size" field');
        const missing = content(1).dgst;
        expect((await errorKind(() => store.update(ctx, { digest: missing, labels: {} }))).kind).toBe("NotFound");
        const tooBig = await errorKind(() => store.update(ctx, { digest: dgst, labels: { big: "x".repeat(5000) } }));
        expect(tooBig.kind).toBe("InvalidArgument");
      });
    });
  });
}
