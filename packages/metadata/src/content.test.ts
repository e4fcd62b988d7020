import { readBlob, writeBlob } from "@containerts/content";
import { contentSuite } from "@containerts/content/testsuite";
import { kindOf } from "@containerts/errdefs";
import { background } from "@containerts/namespaces";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type Fixture, blob, createFixture, nsCtx, thrown } from "../test/helpers.js";
import type { IngestRecord } from "./content.js";
import { keys } from "./schema.js";

contentSuite("metadata (memory-level over a local store)", async () => {
  const fx = await createFixture();
  return { store: fx.db.contentStore(), ctx: nsCtx("testsuite"), cleanup: () => fx.cleanup() };
});

describe("metadata content store", () => {
  let fx: Fixture;
  beforeEach(async () => {
    fx = await createFixture();
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  it("requires a namespace", async () => {
    const cs = fx.db.contentStore();
    const err = await thrown(() => cs.info(background(), blob("x").dgst));
    expect(kindOf(err)).toBe("FailedPrecondition");
    expect(err.message).toBe("namespace is required: failed precondition");
  });

  it("keeps namespaces isolated: a blob committed in A is invisible in B until B ingests it", async () => {
    const cs = fx.db.contentStore();
    const a = nsCtx("a");
    const b = nsCtx("b");
    const { bytes, dgst } = blob("shared layer");
    await writeBlob(cs, a, "layer", bytes, { expected: dgst, labels: { owner: "a" } });

    await expect(cs.info(b, dgst)).rejects.toMatchObject({ kind: "NotFound", message: `content digest ${dgst}: not found` });
    await expect(readBlob(cs, b, dgst)).rejects.toMatchObject({ kind: "NotFound" });
    await expect(cs.readerAt(b, { digest: dgst })).rejects.toMatchObject({ kind: "NotFound" });
    const inB: string[] = [];
    await cs.walk(b, (i) => void inB.push(i.digest));
    expect(inB).toEqual([]);
    await expect(cs.delete(b, dgst)).rejects.toMatchObject({ kind: "NotFound" });

    // Shared policy: B's writer for the expected digest needs no data.
    const w = await cs.writer(b, { ref: "layer-b", total: bytes.byteLength, expected: dgst });
    expect(w.offset).toBe(bytes.byteLength);
    expect(await w.status()).toMatchObject({ ref: "layer-b", offset: bytes.byteLength, total: bytes.byteLength });
    expect(w.digest()).toBe(dgst);
    expect(await cs.status(b, "layer-b")).toMatchObject({ offset: bytes.byteLength, total: bytes.byteLength });
    await w.commit(bytes.byteLength, dgst, { labels: { owner: "b" } });

    expect(new Uint8Array(await readBlob(cs, b, dgst))).toEqual(bytes);
    expect((await cs.info(b, dgst)).labels).toEqual({ owner: "b" });
    expect((await cs.info(a, dgst)).labels).toEqual({ owner: "a" });
    // One blob on disk.
    const onDisk: string[] = [];
    await fx.backend.walk(background(), (i) => void onDisk.push(i.digest));
    expect(onDisk).toEqual([dgst]);
    await expect(cs.status(b, "layer-b")).rejects.toMatchObject({ kind: "NotFound" });
  });

  it("turns a shared ingest into a real one when the caller writes anyway", async () => {
    const cs = fx.db.contentStore();
    const { bytes, dgst } = blob("resent in full");
    await writeBlob(cs, nsCtx("a"), "x", bytes, { expected: dgst });
    const w = await cs.writer(nsCtx("b"), { ref: "x", expected: dgst });
    expect(w.offset).toBe(bytes.byteLength);
    await w.truncate(0);
    expect(w.offset).toBe(0);
    await w.write(bytes);
    await w.commit(bytes.byteLength, dgst);
    expect(new Uint8Array(await readBlob(cs, nsCtx("b"), dgst))).toEqual(bytes);
    expect(await fx.backend.listStatuses(background())).toEqual([]);
  });

  it("with the isolated policy, makes the client send the data again", async () => {
    await fx.cleanup();
    fx = await createFixture({ contentSharingPolicy: "isolated" });
    const cs = fx.db.contentStore();
    const { bytes, dgst } = blob("isolated");
    await writeBlob(cs, nsCtx("a"), "x", bytes, { expected: dgst });
    const w = await cs.writer(nsCtx("b"), { ref: "x", expected: dgst });
    try {
      expect(w.offset).toBe(0);
      await w.write(bytes);
      await w.commit(bytes.byteLength, dgst);
    } finally {
      await w.close();
    }
    expect((await cs.info(nsCtx("b"), dgst)).size).toBe(bytes.byteLength);
  });

  it("reports AlreadyExists when the expected digest is visible, and on commit of a visible blob", async () => {
    const cs = fx.db.contentStore();
    const ctx = nsCtx("a");
    const { bytes, dgst } = blob("exists");
    await writeBlob(cs, ctx, "one", bytes, { expected: dgst });
    const open = await thrown(() => cs.writer(ctx, { ref: "two", expected: dgst }));
    expect(kindOf(open)).toBe("AlreadyExists");
    expect(open.message).toBe(`content ${dgst}: already exists`);

    const w = await cs.writer(ctx, { ref: "three" });
    await w.write(bytes);
    const commit = await thrown(() => w.commit(bytes.byteLength));
    expect(kindOf(commit)).toBe("AlreadyExists");
    expect(commit.message).toBe(`content ${dgst}: already exists`);
    await expect(cs.status(ctx, "three")).rejects.toMatchObject({ kind: "NotFound" });
  });

  it("names backend ingests <ns>/<sequence>/<ref>", async () => {
    const cs = fx.db.contentStore();
    const w1 = await cs.writer(nsCtx("probe"), { ref: "probe-ref" });
    const w2 = await cs.writer(nsCtx("other"), { ref: "probe-ref" });
    try {
      const refs = (await fx.backend.listStatuses(background())).map((s) => s.ref).sort();
      expect(refs).toEqual(["other/1/probe-ref", "probe/1/probe-ref"]);
      const locked = await thrown(() => cs.writer(nsCtx("probe"), { ref: "probe-ref" }));
      expect(kindOf(locked)).toBe("Unavailable");
      expect(locked.message).toContain("probe/1/probe-ref");
      expect((await w1.status()).ref).toBe("probe-ref");
    } finally {
      await w1.close();
      await w2.close();
    }
    await cs.abort(nsCtx("probe"), "probe-ref");
    const w3 = await cs.writer(nsCtx("probe"), { ref: "probe-ref" });
    await w3.close();
    expect((await fx.backend.listStatuses(background())).map((s) => s.ref).sort()).toEqual([
      "other/1/probe-ref",
      "probe/2/probe-ref",
    ]);
  });

  it("validates labels and field paths on update", async () => {
    const cs = fx.db.contentStore();
    const ctx = nsCtx("a");
    const { bytes, dgst } = blob("labels");
    const big = await thrown(() => writeBlob(cs, ctx, "big", bytes, { expected: dgst, labels: { k: "v".repeat(4096) } }));
    expect(kindOf(big)).toBe("InvalidArgument");
    await writeBlob(cs, ctx, "ok", bytes, { expected: dgst, labels: { a: "1" } });
    const size = await thrown(() => cs.update(ctx, { digest: dgst, size: 3 }, ["size"]));
    expect(kindOf(size)).toBe("InvalidArgument");
    expect(size.message).toBe(`cannot update "size" field on content info "${dgst}": invalid argument`);
    expect(kindOf(await thrown(() => cs.update(ctx, { digest: dgst, labels: { k: "x".repeat(5000) } })))).toBe("InvalidArgument");
    const updated = await cs.update(ctx, { digest: dgst, labels: { b: "2" } }, ["labels.b"]);
    expect(updated.labels).toEqual({ a: "1", b: "2" });
    expect(updated.size).toBe(bytes.byteLength);
  });

  it("expires ingests written without a lease after 24 hours", async () => {
    const cs = fx.db.contentStore();
    const before = Date.now();
    const w = await cs.writer(nsCtx("a"), { ref: "stale" });
    await w.close();
    const record = await fx.db.view((tx) => tx.getJson<IngestRecord>(keys.ingest("a", "stale")));
    const expireAt = Date.parse(record?.expireAt ?? "");
    expect(expireAt).toBeGreaterThanOrEqual(before + 24 * 3600 * 1000);
    expect(expireAt).toBeLessThanOrEqual(Date.now() + 24 * 3600 * 1000);
  });

  it("marks the database dirty on delete", async () => {
    const cs = fx.db.contentStore();
    const { bytes, dgst } = blob("dirty");
    await writeBlob(cs, nsCtx("a"), "x", bytes, { expected: dgst });
    expect(fx.db.dirty).toBe(false);
    await cs.delete(nsCtx("a"), dgst);
    expect(fx.db.dirty).toBe(true);
  });
});

describe("metadata content store with leases", () => {
  let fx: Fixture;
  beforeEach(async () => {
    fx = await createFixture();
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  it("fails mutations under a missing lease with NotFound `lease does not exist`", async () => {
    const cs = fx.db.contentStore();
    const ctx = nsCtx("a", "no-such-lease");
    const err = await thrown(() => cs.writer(ctx, { ref: "x" }));
    expect(kindOf(err)).toBe("NotFound");
    expect(err.message).toBe("lease does not exist: not found");
    // Nothing was recorded.
    await expect(cs.status(nsCtx("a"), "x")).rejects.toMatchObject({ kind: "NotFound" });
    // An existing blob opened with `expected` under a missing lease fails the same way.
    const { bytes, dgst } = blob("present");
    await writeBlob(cs, nsCtx("a"), "p", bytes, { expected: dgst });
    expect(kindOf(await thrown(() => cs.writer(ctx, { ref: "p2", expected: dgst })))).toBe("NotFound");
  });

  it("adds ingests to the lease, moves them to content on commit, and removes them on abort and delete", async () => {
    const cs = fx.db.contentStore();
    const leases = fx.db.leaseManager();
    const lease = await leases.create(nsCtx("a"), { id: "pull" });
    const ctx = nsCtx("a", lease.id);
    const { bytes, dgst } = blob("leased");

    const w = await cs.writer(ctx, { ref: "layer", expected: dgst });
    expect(await leases.listResources(nsCtx("a"), lease)).toEqual([{ id: "layer", type: "ingests" }]);
    // Leased ingests do not expire.
    const record = await fx.db.view((tx) => tx.getJson<IngestRecord>(keys.ingest("a", "layer")));
    expect(record?.expireAt).toBeUndefined();
    await w.write(bytes);
    await w.commit(bytes.byteLength, dgst);
    expect(await leases.listResources(nsCtx("a"), lease)).toEqual([{ id: dgst, type: "content" }]);

    const w2 = await cs.writer(ctx, { ref: "aborted" });
    await w2.close();
    expect((await leases.listResources(nsCtx("a"), lease)).map((r) => r.type)).toEqual(["content", "ingests"]);
    await cs.abort(ctx, "aborted");
    expect(await leases.listResources(nsCtx("a"), lease)).toEqual([{ id: dgst, type: "content" }]);

    await cs.delete(ctx, dgst);
    expect(await leases.listResources(nsCtx("a"), lease)).toEqual([]);
  });

  it("adds an already visible blob to the lease before reporting AlreadyExists", async () => {
    const cs = fx.db.contentStore();
    const leases = fx.db.leaseManager();
    const { bytes, dgst } = blob("visible");
    await writeBlob(cs, nsCtx("a"), "x", bytes, { expected: dgst });
    await leases.create(nsCtx("a"), { id: "l" });
    const err = await thrown(() => cs.writer(nsCtx("a", "l"), { ref: "y", expected: dgst }));
    expect(kindOf(err)).toBe("AlreadyExists");
    expect(await leases.listResources(nsCtx("a"), { id: "l" })).toEqual([{ id: dgst, type: "content" }]);
  });
});
