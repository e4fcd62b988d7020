/** Shared test fixtures: an instrumented memory-level, a temp-dir content backend and contexts. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { digestOf, type Digest } from "@containerts/content";
import { LocalContentStore } from "@containerts/content/local";
import { type Context, background, withLease, withNamespace } from "@containerts/namespaces";
import { MemoryLevel } from "memory-level";

import { DB, type DBOptions } from "../src/index.js";

/** One `_batch` call seen by {@link InstrumentedLevel}. */
export interface BatchCall {
  readonly sync: boolean;
  readonly ops: number;
}

/**
 * A memory-level that records every batch (with its `sync` option), can make each batch slow (a
 * stand-in for fsync latency) and can fail the next batch.
 */
export class InstrumentedLevel extends MemoryLevel<string, string> {
  readonly batches: BatchCall[] = [];
  batchDelayMs = 0;
  failNext: Error | undefined;

  // The private API of abstract-level: called by `batch()` with the encoded operations.
  async _batch(operations: { type: string }[], options: { sync?: boolean }): Promise<void> {
    this.batches.push({ sync: options.sync === true, ops: operations.length });
    if (this.batchDelayMs > 0) await new Promise((r) => setTimeout(r, this.batchDelayMs));
    const fail = this.failNext;
    if (fail !== undefined) {
      this.failNext = undefined;
      throw fail;
    }
    // @ts-expect-error _batch is memory-level's private implementation, not in its typings
    return super._batch(operations, options);
  }
}

/** A fresh DB on an instrumented memory-level with a local content backend in a temp dir. */
export interface Fixture {
  readonly db: DB;
  readonly level: InstrumentedLevel;
  readonly backend: LocalContentStore;
  readonly dir: string;
  cleanup(): Promise<void>;
}

/** Creates a {@link Fixture}; call `cleanup` in `afterEach`. */
export async function createFixture(options: Omit<DBOptions, "content"> = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), "containerts-metadata-"));
  try {
    const backend = await LocalContentStore.open(join(dir, "content"));
    const level = new InstrumentedLevel();
    const db = await DB.open(level, { ...options, content: backend });
    return {
      db,
      level,
      backend,
      dir,
      async cleanup() {
        await db.close().catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A context in namespace `ns`, optionally under lease `lease`. */
export function nsCtx(ns: string, lease?: string): Context {
  const ctx = withNamespace(background(), ns);
  return lease === undefined ? ctx : withLease(ctx, lease);
}

/** Bytes with their digest. */
export function blob(text: string): { bytes: Uint8Array; dgst: Digest } {
  const bytes = new TextEncoder().encode(text);
  return { bytes, dgst: digestOf(bytes) };
}

/** Runs `fn` and returns what it threw (fails when it does not throw). */
export async function thrown(fn: () => Promise<unknown>): Promise<Error & { kind?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { kind?: string };
  }
  throw new Error("expected an error, the call succeeded");
}
