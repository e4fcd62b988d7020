import { writeBlob } from "@containerts/content";
import { kindOf } from "@containerts/errdefs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { type Fixture, blob, createFixture, nsCtx, thrown } from "../test/helpers.js";
import type { GcStats } from "./gc.js";
import { type GcScheduler, createGcScheduler, resolveGcSchedulerOptions } from "./scheduler.js";

describe("GC scheduler", () => {
  let fx: Fixture;
  let scheduler: GcScheduler | undefined;
  const ctx = nsCtx("default");

  beforeEach(async () => {
    fx = await createFixture();
  });
  afterEach(async () => {
    await scheduler?.close();
    scheduler = undefined;
    await fx.cleanup();
  });

  it("resolves containerd's defaults and clamps", () => {
    expect(resolveGcSchedulerOptions()).toEqual({
      pauseThreshold: 0.02,
      deletionThreshold: 0,
      mutationThreshold: 100,
      scheduleDelayMs: 0,
      startupDelayMs: 100,
    });
    expect(resolveGcSchedulerOptions({ pauseThreshold: 2, mutationThreshold: -1, scheduleDelayMs: -5 })).toMatchObject({
      pauseThreshold: 0.5,
      mutationThreshold: 0,
      scheduleDelayMs: 0,
    });
  });

  it("runs a startup collection", async () => {
    scheduler = createGcScheduler(fx.db, { startupDelayMs: 1 });
    await vi.waitFor(() => expect(scheduler?.stats().collections).toBe(1), { timeout: 5000 });
    const st = scheduler.stats();
    expect(st.lastRunAt).toBeInstanceOf(Date);
    expect(st.lastDurationMs).toBeGreaterThanOrEqual(0);
    expect(st.nextRunAt).toBeInstanceOf(Date);
  });

  it("collects on scheduleAndWait and reports what it removed", async () => {
    scheduler = createGcScheduler(fx.db, { startupDelayMs: 0 });
    const { bytes, dgst } = blob("garbage");
    await writeBlob(fx.db.contentStore(), ctx, "g", bytes, { expected: dgst });
    const stats: GcStats = await scheduler.scheduleAndWait();
    expect(stats.removed.content).toBe(1);
    expect(stats.removed.backendBlobs).toBe(1);
    const st = scheduler.stats();
    expect(st.collections).toBe(1);
    expect(st.removed.content).toBe(1);
    expect(st.removed.backendBlobs).toBe(1);
    expect(st.lastStats).toBe(stats);
  });

  it("is what synchronous lease deletes wait for", async () => {
    scheduler = createGcScheduler(fx.db, { startupDelayMs: 0 });
    const leases = fx.db.leaseManager();
    await leases.create(ctx, { id: "tmp" });
    const { bytes, dgst } = blob("leased");
    await writeBlob(fx.db.contentStore(), nsCtx("default", "tmp"), "x", bytes, { expected: dgst });
    await leases.delete(ctx, { id: "tmp" }, { sync: true });
    expect(scheduler.stats().collections).toBe(1);
    await expect(fx.db.contentStore().info(ctx, dgst)).rejects.toMatchObject({ kind: "NotFound" });
  });

  it("schedules a collection after deletions (deletion threshold)", async () => {
    scheduler = createGcScheduler(fx.db, { startupDelayMs: 0, deletionThreshold: 1 });
    const cs = fx.db.contentStore();
    const keep = blob("kept but unreferenced later");
    await writeBlob(cs, ctx, "k", keep.bytes, { expected: keep.dgst, labels: { "containerd.io/gc.root": "x" } });
    expect(scheduler.stats().collections).toBe(0);
    await cs.delete(ctx, keep.dgst);
    await vi.waitFor(() => expect(scheduler?.stats().collections).toBe(1), { timeout: 5000 });
    await vi.waitFor(() => expect(scheduler?.stats().removed.backendBlobs).toBe(1), { timeout: 5000 });
  });

  it("collects at the next tick once the mutation threshold is reached", async () => {
    scheduler = createGcScheduler(fx.db, { startupDelayMs: 1, mutationThreshold: 3 });
    await vi.waitFor(() => expect(scheduler?.stats().collections).toBe(1), { timeout: 5000 });
    for (let i = 0; i < 3; i++) await fx.db.leaseManager().create(ctx, { id: `m${i}` });
    await vi.waitFor(() => expect(scheduler?.stats().collections).toBe(2), { timeout: 10_000 });
  });

  it("fails waiters when closed, and refuses new ones", async () => {
    scheduler = createGcScheduler(fx.db, { startupDelayMs: 0, scheduleDelayMs: 60_000 });
    const pending = scheduler.scheduleAndWait();
    await scheduler.close();
    expect(kindOf(await thrown(() => pending))).toBe("Unavailable");
    expect(kindOf(await thrown(() => scheduler!.scheduleAndWait()))).toBe("Unavailable");
  });

  it("stops waiting when the signal aborts", async () => {
    scheduler = createGcScheduler(fx.db, { startupDelayMs: 0, scheduleDelayMs: 60_000 });
    const ac = new AbortController();
    const pending = scheduler.scheduleAndWait(ac.signal);
    ac.abort();
    expect(kindOf(await thrown(() => pending))).toBe("Canceled");
  });
});
