/**
 * The garbage-collection scheduler (containerd's `gc/scheduler`): decides when to collect from the
 * database's mutations and deletions, keeps the time spent collecting near a pause threshold, and
 * lets synchronous deletes wait for a collection.
 */
import { CanceledError, UnavailableError, normalize } from "@containerts/errdefs";

import type { CollectionScheduler, MutationCallback } from "./db.js";
import type { GcStats } from "./gc.js";

/** Options of {@link createGcScheduler}; the defaults are containerd's. */
export interface GcSchedulerOptions {
  /**
   * The largest share of time collections may take (their pause, averaged); sets the interval between
   * collections. Clamped to [0, 0.5]. Default 0.02.
   */
  readonly pauseThreshold?: number;
  /** Collect as soon as this many deletions happened; 0 disables the count trigger. Default 0. */
  readonly deletionThreshold?: number;
  /** Collect at the next tick once this many mutations happened; 0 disables. Default 100. */
  readonly mutationThreshold?: number;
  /** Delay before a triggered collection. Default 0. */
  readonly scheduleDelayMs?: number;
  /** Delay of the first collection after start. Default 100. */
  readonly startupDelayMs?: number;
}

/** Resolved scheduler options. */
export interface ResolvedGcSchedulerOptions {
  readonly pauseThreshold: number;
  readonly deletionThreshold: number;
  readonly mutationThreshold: number;
  readonly scheduleDelayMs: number;
  readonly startupDelayMs: number;
}

/** Applies defaults and clamps, as containerd's `newScheduler` does. */
export function resolveGcSchedulerOptions(o: GcSchedulerOptions = {}): ResolvedGcSchedulerOptions {
  const num = (v: number | undefined, d: number) => (v === undefined || Number.isNaN(v) ? d : v);
  return {
    pauseThreshold: Math.min(0.5, Math.max(0, num(o.pauseThreshold, 0.02))),
    deletionThreshold: Math.max(0, Math.floor(num(o.deletionThreshold, 0))),
    mutationThreshold: Math.max(0, Math.floor(num(o.mutationThreshold, 100))),
    scheduleDelayMs: Math.max(0, num(o.scheduleDelayMs, 0)),
    startupDelayMs: Math.max(0, num(o.startupDelayMs, 100)),
  };
}

/** Totals over all collections. */
export interface GcTotals {
  readonly leases: number;
  readonly content: number;
  readonly ingests: number;
  readonly objects: number;
  readonly backendBlobs: number;
  readonly backendIngests: number;
  readonly snapshots: number;
}

/** What the scheduler has done so far. */
export interface GcSchedulerStats {
  /** Successful collections. */
  readonly collections: number;
  readonly failures: number;
  /** When the last collection (successful or not) started. */
  readonly lastRunAt?: Date;
  /** Duration of the last successful collection. */
  readonly lastDurationMs?: number;
  /** Pause (write-lock time) of the last successful collection. */
  readonly lastPauseMs?: number;
  /** The last successful collection's statistics. */
  readonly lastStats?: GcStats;
  /** Message of the last failure, if the last collection failed. */
  readonly lastError?: string;
  /** When the next collection is due, if one is scheduled. */
  readonly nextRunAt?: Date;
  /** Everything removed so far. */
  readonly removed: GcTotals;
}

/** The GC scheduler of one database. */
export interface GcScheduler extends CollectionScheduler {
  /** The resolved options (exported by the `io.containerd.gc.v1.scheduler` plugin). */
  readonly options: ResolvedGcSchedulerOptions;
  /**
   * Triggers a collection and resolves with its statistics once a collection that started after this
   * call has finished.
   * @throws CanceledError when `signal` aborts first; UnavailableError when the scheduler closes;
   *   the collection's error when it fails.
   */
  scheduleAndWait(signal?: AbortSignal): Promise<GcStats>;
  /** Counters and the last result. */
  stats(): GcSchedulerStats;
  /** Stops scheduling, waits for a running collection, and fails pending waiters. */
  close(): Promise<void>;
}

/** What the scheduler needs from the database (the metadata `DB` satisfies it). */
export interface GcTarget {
  registerMutationCallback(fn: MutationCallback): () => void;
  garbageCollect(signal?: AbortSignal): Promise<GcStats>;
  attachScheduler(scheduler: CollectionScheduler): () => void;
}

interface Waiter {
  resolve(stats: GcStats): void;
  reject(err: unknown): void;
}

/**
 * Creates and starts the scheduler of `db` (and attaches it, so synchronous deletes wait through it).
 * Timers do not keep the process alive.
 */
export function createGcScheduler(db: GcTarget, options: GcSchedulerOptions = {}): GcScheduler {
  const opts = resolveGcSchedulerOptions(options);
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let nextAt: number | undefined;
  let lastCollection: number | undefined;
  let interval = 1000;
  let gcTime = 0;
  let triggered = false;
  let deletions = 0;
  let mutations = 0;
  let running: Promise<void> | undefined;
  let closed = false;
  let waiters: Waiter[] = [];
  const st = {
    collections: 0,
    failures: 0,
    lastRunAt: undefined as Date | undefined,
    lastDurationMs: undefined as number | undefined,
    lastPauseMs: undefined as number | undefined,
    lastStats: undefined as GcStats | undefined,
    lastError: undefined as string | undefined,
    removed: { leases: 0, content: 0, ingests: 0, objects: 0, backendBlobs: 0, backendIngests: 0, snapshots: 0 },
  };

  const schedule = (ms: number) => {
    if (timer !== undefined) clearTimeout(timer);
    nextAt = Date.now() + ms;
    timer = setTimeout(onTimer, ms);
    timer.unref?.();
  };

  /** Containerd's "should this event cause a collection soon" rule. */
  const maybeScheduleNow = () => {
    if (
      triggered ||
      (opts.deletionThreshold > 0 && deletions >= opts.deletionThreshold) ||
      (nextAt === undefined &&
        ((opts.deletionThreshold === 0 && deletions > 0) || (opts.mutationThreshold > 0 && mutations >= opts.mutationThreshold)))
    ) {
      if (nextAt === undefined || nextAt > Date.now() + opts.scheduleDelayMs) schedule(opts.scheduleDelayMs);
    }
  };

  const onEvent = (mutation: boolean, dirty: boolean) => {
    if (closed) return;
    if (dirty) deletions++;
    if (mutation) mutations++;
    else triggered = true;
    if (running === undefined) maybeScheduleNow();
  };

  const onTimer = () => {
    timer = undefined;
    nextAt = undefined;
    if (closed || running !== undefined) return;
    // Skip when nothing asks for a collection, and look again after another interval.
    if (
      !triggered &&
      lastCollection !== undefined &&
      deletions === 0 &&
      (opts.mutationThreshold === 0 || mutations < opts.mutationThreshold)
    ) {
      schedule(interval);
      return;
    }
    running = collect().finally(() => {
      running = undefined;
      if (!closed) maybeScheduleNow();
    });
  };

  const collect = async () => {
    const batch = waiters;
    waiters = [];
    triggered = false;
    deletions = 0;
    mutations = 0;
    const startedAt = Date.now();
    st.lastRunAt = new Date(startedAt);
    let stats: GcStats;
    try {
      stats = await db.garbageCollect(controller.signal);
    } catch (err) {
      st.failures++;
      st.lastError = normalize(err).message;
      lastCollection = Date.now();
      // Retry after the same interval plus a second.
      if (!closed) schedule(interval + 1000);
      for (const w of batch) w.reject(err);
      return;
    }
    lastCollection = Date.now();
    st.collections++;
    st.lastError = undefined;
    st.lastDurationMs = stats.durationMs;
    st.lastPauseMs = stats.metadataMs;
    st.lastStats = stats;
    const r = stats.removed;
    st.removed.leases += r.leases;
    st.removed.content += r.content;
    st.removed.ingests += r.ingests;
    st.removed.objects += Object.values(r.objects).reduce((a, b) => a + b, 0);
    st.removed.backendBlobs += r.backendBlobs;
    st.removed.backendIngests += r.backendIngests;
    st.removed.snapshots += Object.values(r.snapshots).reduce((a, b) => a + b, 0);
    gcTime += stats.metadataMs;
    if (opts.pauseThreshold > 0) {
      // Average pause divided by the threshold: collections take about that share of real time.
      const avg = gcTime / st.collections;
      interval = avg / opts.pauseThreshold - avg;
    }
    if (!closed) schedule(interval);
    for (const w of batch) w.resolve(stats);
  };

  const unregister = db.registerMutationCallback((dirty) => onEvent(true, dirty));
  if (opts.startupDelayMs > 0) schedule(opts.startupDelayMs);

  const scheduler: GcScheduler = {
    options: opts,

    scheduleAndWait(signal?: AbortSignal): Promise<GcStats> {
      if (closed) return Promise.reject(new UnavailableError("gc scheduler is closed"));
      if (signal?.aborted) return Promise.reject(new CanceledError("", { cause: signal.reason }));
      return new Promise<GcStats>((resolve, reject) => {
        const onAbort = () => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new CanceledError("", { cause: signal?.reason }));
        };
        const waiter: Waiter = {
          resolve: (s) => {
            signal?.removeEventListener("abort", onAbort);
            resolve(s);
          },
          reject: (e) => {
            signal?.removeEventListener("abort", onAbort);
            reject(e);
          },
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        waiters.push(waiter);
        onEvent(false, false);
      });
    },

    stats(): GcSchedulerStats {
      return {
        collections: st.collections,
        failures: st.failures,
        ...(st.lastRunAt === undefined ? {} : { lastRunAt: st.lastRunAt }),
        ...(st.lastDurationMs === undefined ? {} : { lastDurationMs: st.lastDurationMs }),
        ...(st.lastPauseMs === undefined ? {} : { lastPauseMs: st.lastPauseMs }),
        ...(st.lastStats === undefined ? {} : { lastStats: st.lastStats }),
        ...(st.lastError === undefined ? {} : { lastError: st.lastError }),
        ...(nextAt === undefined ? {} : { nextRunAt: new Date(nextAt) }),
        removed: { ...st.removed },
      };
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      nextAt = undefined;
      unregister();
      detach();
      await running;
      const pending = waiters;
      waiters = [];
      for (const w of pending) w.reject(new UnavailableError("gc scheduler is closed"));
    },
  };
  const detach = db.attachScheduler(scheduler);
  return scheduler;
}
