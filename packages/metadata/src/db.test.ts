import { kindOf } from "@containerts/errdefs";
import { MemoryLevel } from "memory-level";
import { afterEach, describe, expect, it } from "vitest";

import { type Fixture, InstrumentedLevel, createFixture, thrown } from "../test/helpers.js";
import { DB } from "./db.js";
import { dbVersion, key, keys, schemaVersion } from "./schema.js";
import type { WriteTx } from "./tx.js";

describe("DB transactions", () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  it("merges updates that queue behind a synced write into one synced batch (group commit)", async () => {
    fx = await createFixture();
    const { db, level } = fx;
    level.batchDelayMs = 20; // every synced write takes a while, like an fsync
    const before = level.batches.length;
    const n = 50;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        db.update((tx) => {
          tx.put(key("test", String(i).padStart(3, "0")), `v${i}`);
          return i;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: n }, (_, i) => i));
    const batches = level.batches.slice(before);
    // Every batch was synced, and far fewer batches than updates were written.
    expect(batches.every((b) => b.sync)).toBe(true);
    expect(batches.length).toBeLessThan(n / 5);
    expect(batches.reduce((a, b) => a + b.ops, 0)).toBe(n);
    // Each caller resolved only once durable: everything is in the level database itself.
    for (let i = 0; i < n; i++) {
      expect(await level.get(key("test", String(i).padStart(3, "0")))).toBe(`v${i}`);
    }
    expect(db.writeStats().updates - db.writeStats().batches).toBeGreaterThan(0);
  });

  it("resolves an update only after its batch is written", async () => {
    fx = await createFixture();
    const { db, level } = fx;
    level.batchDelayMs = 30;
    let written = false;
    const p = db.update((tx) => tx.put(key("test", "a"), "1")).then(() => {
      written = level.batches.some((b) => b.ops === 1);
    });
    // While the write is in flight, nothing is acknowledged.
    await new Promise((r) => setTimeout(r, 5));
    expect(written).toBe(false);
    await p;
    expect(written).toBe(true);
    expect(await level.get(key("test", "a"))).toBe("1");
  });

  it("serializes read-modify-write updates: no lost increments", async () => {
    fx = await createFixture();
    const { db, level } = fx;
    level.batchDelayMs = 2;
    const k = key("test", "counter");
    const increment = (tx: WriteTx) =>
      (async () => {
        const v = Number((await tx.get(k)) ?? "0");
        await new Promise((r) => setTimeout(r, Math.random() * 2)); // interleave if not serialized
        tx.put(k, String(v + 1));
      })();
    await Promise.all(Array.from({ length: 100 }, () => db.update(increment)));
    expect(await db.view((tx) => tx.get(k))).toBe("100");
  });

  it("lets an update read writes that are committed but not yet durable", async () => {
    fx = await createFixture();
    const { db, level } = fx;
    level.batchDelayMs = 30;
    const first = db.update((tx) => tx.put(key("test", "x"), "1"));
    const second = db.update(async (tx) => {
      const seen = await tx.get(key("test", "x"));
      const listed: string[] = [];
      for await (const [k] of tx.entries({ gte: key("test", ""), lt: key("test", "\u{10FFFF}") })) listed.push(k);
      tx.put(key("test", "y"), String(seen));
      return listed;
    });
    await first;
    expect(await second).toEqual([key("test", "x")]);
    expect(await db.view((tx) => tx.get(key("test", "y")))).toBe("1");
  });

  it("discards every write of an update that throws", async () => {
    fx = await createFixture();
    const { db } = fx;
    const boom = new Error("boom");
    await expect(
      db.update((tx) => {
        tx.put(key("test", "never"), "1");
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await db.view((tx) => tx.get(key("test", "never")))).toBeUndefined();
  });

  it("fails every update of a failed batch and keeps working afterwards", async () => {
    fx = await createFixture();
    const { db, level } = fx;
    level.batchDelayMs = 10;
    level.failNext = new Error("disk full");
    const a = db.update((tx) => tx.put(key("test", "a"), "1"));
    const results = await Promise.allSettled([a]);
    expect(results[0]?.status).toBe("rejected");
    expect(String((results[0] as PromiseRejectedResult).reason.message)).toContain("disk full");
    expect(await db.view((tx) => tx.get(key("test", "a")))).toBeUndefined();
    await db.update((tx) => tx.put(key("test", "b"), "2"));
    expect(await db.view((tx) => tx.get(key("test", "b")))).toBe("2");
  });

  it("gives views a consistent snapshot while updates go on", async () => {
    fx = await createFixture();
    const { db } = fx;
    await db.update((tx) => {
      tx.put(key("test", "a"), "1");
      tx.put(key("test", "b"), "1");
    });
    const seen = await db.view(async (tx) => {
      const a = await tx.get(key("test", "a"));
      await db.update((w) => {
        w.put(key("test", "a"), "2");
        w.put(key("test", "b"), "2");
      });
      const b = await tx.get(key("test", "b"));
      const all: string[] = [];
      for await (const [, v] of tx.entries({ gte: key("test", ""), lt: key("test", "\u{10FFFF}") })) all.push(v);
      return { a, b, all };
    });
    expect(seen).toEqual({ a: "1", b: "1", all: ["1", "1"] });
  });

  it("reads the current durable state without a snapshot (read)", async () => {
    fx = await createFixture();
    const { db } = fx;
    await db.update((tx) => tx.put(key("test", "r"), "1"));
    expect(await db.read((tx) => tx.get(key("test", "r")))).toBe("1");
    expect(await db.read((tx) => tx.get(key("test", "missing")))).toBeUndefined();
    // Unlike a view, a later read inside the same function sees an update made in between.
    const seen = await db.read(async (tx) => {
      const before = await tx.get(key("test", "r"));
      await db.update((w) => w.put(key("test", "r"), "2"));
      return [before, await tx.get(key("test", "r"))];
    });
    expect(seen).toEqual(["1", "2"]);
    await db.close();
    expect(kindOf(await thrown(() => db.read((tx) => tx.get(key("test", "r")))))).toBe("FailedPrecondition");
  });

  it("iterates ranges in key order, merging pending and own writes", async () => {
    fx = await createFixture();
    const { db } = fx;
    await db.update((tx) => {
      for (const k of ["b", "d", "f"]) tx.put(key("r", k), k);
    });
    const listed = await db.update(async (tx) => {
      tx.put(key("r", "a"), "a");
      tx.put(key("r", "e"), "e");
      tx.del(key("r", "d"));
      tx.put(key("r", "f"), "F");
      const out: string[] = [];
      for await (const [, v] of tx.entries({ gte: key("r", ""), lt: key("r", "\u{10FFFF}") })) out.push(v);
      return out;
    });
    expect(listed).toEqual(["a", "b", "e", "F"]);
  });
});

describe("DB schema version", () => {
  it("writes the version to a fresh database", async () => {
    const level = new MemoryLevel<string, string>();
    const db = await DB.open(level);
    try {
      expect(JSON.parse((await level.get(keys.version)) ?? "null")).toEqual({ schema: schemaVersion, version: dbVersion });
    } finally {
      await db.close();
    }
  });

  it("refuses a database written by a newer version, with a clear error", async () => {
    const level = new MemoryLevel<string, string>();
    await level.put(keys.version, JSON.stringify({ schema: schemaVersion, version: dbVersion + 1 }));
    const err = await thrown(() => DB.open(level));
    expect(kindOf(err)).toBe("FailedPrecondition");
    expect(err.message).toContain(`${schemaVersion}.${dbVersion + 1}`);
    expect(err.message).toContain("newer");
    await level.close();
  });

  it("refuses an unknown schema and data without a version record", async () => {
    const a = new MemoryLevel<string, string>();
    await a.put(keys.version, JSON.stringify({ schema: "v9", version: 1 }));
    expect(kindOf(await thrown(() => DB.open(a)))).toBe("FailedPrecondition");
    await a.close();
    const b = new MemoryLevel<string, string>();
    await b.put("something", "else");
    expect((await thrown(() => DB.open(b))).message).toContain("no schema version");
    await b.close();
  });

  it("runs pending migrations in order, atomically with the version bump", async () => {
    const level = new InstrumentedLevel();
    const first = await DB.open(level);
    await first.update((tx) => tx.put(key("test", "old"), "1"));
    // Reopen the same data with a newer build that carries two migrations. memory-level does not
    // persist across instances: copy the entries over.
    const reopened = new InstrumentedLevel();
    for await (const [k, v] of level.iterator()) await reopened.put(k, v);
    await first.close();
    const ran: number[] = [];
    const migrations = [
      {
        version: dbVersion + 2,
        description: "second",
        async migrate(tx: WriteTx) {
          ran.push(dbVersion + 2);
          tx.put(key("test", "second"), (await tx.get(key("test", "first"))) ?? "missing");
        },
      },
      {
        version: dbVersion + 1,
        description: "first",
        async migrate(tx: WriteTx) {
          ran.push(dbVersion + 1);
          tx.put(key("test", "first"), (await tx.get(key("test", "old"))) ?? "missing");
        },
      },
    ];
    const db = await DB.open(reopened, { migrations, version: dbVersion + 2 });
    try {
      expect(ran).toEqual([dbVersion + 1, dbVersion + 2]);
      expect(await db.view((tx) => tx.get(key("test", "second")))).toBe("1");
      expect(JSON.parse((await reopened.get(keys.version)) ?? "null")).toEqual({ schema: schemaVersion, version: dbVersion + 2 });
    } finally {
      await db.close();
    }
  });

  it("leaves the database untouched when a migration fails", async () => {
    const level = new MemoryLevel<string, string>();
    await level.put(keys.version, JSON.stringify({ schema: schemaVersion, version: dbVersion }));
    const err = await thrown(() =>
      DB.open(level, {
        version: dbVersion + 1,
        migrations: [
          {
            version: dbVersion + 1,
            description: "broken",
            async migrate(tx) {
              tx.put(key("test", "half"), "done");
              throw new Error("cannot");
            },
          },
        ],
      }),
    );
    expect(err.message).toContain(`failed to migrate to ${schemaVersion}.${dbVersion + 1} (broken)`);
    expect(await level.get(key("test", "half"))).toBeUndefined();
    expect(JSON.parse((await level.get(keys.version)) ?? "null").version).toBe(dbVersion);
    await level.close();
  });
});
