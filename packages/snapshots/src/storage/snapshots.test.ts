import { MemoryLevel } from "memory-level";
import { describe, expect, it } from "vitest";
import { kindOf } from "@containerts/errdefs";
import { alwaysTrue, background } from "@containerts/namespaces";
import { MetaStore } from "./metastore.js";
import {
  checkCommit,
  commitActive,
  createSnapshot,
  getInfo,
  getSnapshot,
  idMap,
  removeSnapshot,
  walkInfo,
} from "./snapshots.js";

const ctx = background();

async function store(db = new MemoryLevel()): Promise<MetaStore> {
  return MetaStore.open(db);
}

describe("snapshot storage", () => {
  it("hands out ids from 1 and lists parents nearest first", async () => {
    const ms = await store();
    const a = await ms.update(ctx, (tx) => createSnapshot(tx, "active", "a", undefined, { l: "1", e: "" }));
    expect(a).toEqual({ id: "1", kind: "active", parentIds: [] });
    await ms.update(ctx, (tx) => commitActive(tx, "a", "A", { size: 10, inodes: 2 }, undefined));
    await ms.update(ctx, (tx) => createSnapshot(tx, "active", "b", "A", undefined));
    await ms.update(ctx, (tx) => commitActive(tx, "b", "B", { size: 1, inodes: 1 }, undefined));
    const c = await ms.update(ctx, (tx) => createSnapshot(tx, "view", "c", "B", undefined));
    expect(c).toEqual({ id: "3", kind: "view", parentIds: ["2", "1"] });
    expect(await ms.view(ctx, (tx) => getSnapshot(tx, "c"))).toEqual(c);
    const { info, usage } = await ms.view(ctx, (tx) => getInfo(tx, "A"));
    expect(info).toMatchObject({ name: "A", kind: "committed", labels: {} });
    expect(usage).toEqual({ size: 10, inodes: 2 });
    expect([...(await ms.view(ctx, idMap))]).toEqual([
      ["1", "A"],
      ["2", "B"],
      ["3", "c"],
    ]);
  });

  it("gives the same parent chains with and without the store's memo of chains", async () => {
    const db = new MemoryLevel();
    const ms = await store(db);
    // A <- B <- C, and D on B.
    let parent: string | undefined;
    for (const name of ["A", "B", "C"]) {
      await ms.update(ctx, (tx) => createSnapshot(tx, "active", `${name}-active`, parent, undefined));
      await ms.update(ctx, (tx) => commitActive(tx, `${name}-active`, name, { size: 0, inodes: 0 }, undefined));
      parent = name;
    }
    const d = await ms.update(ctx, (tx) => createSnapshot(tx, "active", "d", "B", undefined));
    expect(d).toEqual({ id: "4", kind: "active", parentIds: ["2", "1"] });
    const e = await ms.update(ctx, (tx) => createSnapshot(tx, "view", "e", "C", undefined));
    expect(e.parentIds).toEqual(["3", "2", "1"]);
    expect(await ms.view(ctx, (tx) => getSnapshot(tx, "e"))).toEqual(e);
    // A second store on the same database starts without memo and reads every record.
    const fresh = await store(db);
    expect(await fresh.view(ctx, (tx) => getSnapshot(tx, "e"))).toEqual(e);
    expect(await fresh.view(ctx, (tx) => getSnapshot(tx, "d"))).toEqual(d);
    // Removing and recreating a name never brings an old chain back: ids are new.
    await ms.update(ctx, (tx) => removeSnapshot(tx, "e"));
    await ms.update(ctx, (tx) => removeSnapshot(tx, "C"));
    await ms.update(ctx, (tx) => createSnapshot(tx, "active", "C-active", "A", undefined));
    await ms.update(ctx, (tx) => commitActive(tx, "C-active", "C", { size: 0, inodes: 0 }, undefined));
    const f = await ms.update(ctx, (tx) => createSnapshot(tx, "view", "f", "C", undefined));
    expect(f.parentIds).toEqual(["6", "1"]);
    expect(await fresh.view(ctx, (tx) => getSnapshot(tx, "f"))).toEqual(f);
  });

  it("still detects a cycle in corrupt parent records", async () => {
    const db = new MemoryLevel();
    const ms = await store(db);
    const now = new Date().toISOString();
    const rec = (id: number, parent: string) => JSON.stringify({ id, kind: "committed", parent, labels: {}, createdAt: now, updatedAt: now });
    await db.put("v1!s!X", rec(1, "Y"));
    await db.put("v1!s!Y", rec(2, "X"));
    await db.put("v1!s!v", JSON.stringify({ id: 3, kind: "view", parent: "X", labels: {}, createdAt: now, updatedAt: now }));
    const err = await ms.view(ctx, (tx) => getSnapshot(tx, "v")).catch((e: unknown) => e);
    expect(kindOf(err)).toBe("DataLoss");
  });

  it("writes nothing when the transaction function throws", async () => {
    const db = new MemoryLevel();
    const ms = await store(db);
    await expect(
      ms.update(ctx, async (tx) => {
        await createSnapshot(tx, "active", "a", undefined, undefined);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    const keys: string[] = [];
    for await (const k of db.keys()) keys.push(k);
    expect(keys).toEqual([]);
    // The id sequence did not move either.
    expect(await ms.update(ctx, (tx) => createSnapshot(tx, "active", "a", undefined, undefined))).toMatchObject({ id: "1" });
  });

  it("reads its own writes inside a transaction and serializes writers", async () => {
    const ms = await store();
    const order: string[] = [];
    await Promise.all([
      ms.update(ctx, async (tx) => {
        order.push("first-start");
        await createSnapshot(tx, "active", "x", undefined, undefined);
        expect(await tx.get("v1!s!x")).toBeDefined();
        await new Promise((r) => setTimeout(r, 20));
        order.push("first-end");
      }),
      ms.update(ctx, async () => {
        order.push("second");
      }),
    ]);
    expect(order).toEqual(["first-start", "first-end", "second"]);
  });

  it("keeps keys with separators apart from the parent index", async () => {
    const ms = await store();
    await ms.update(ctx, (tx) => createSnapshot(tx, "active", "extract-1 sha256:abc", undefined, undefined));
    await ms.update(ctx, (tx) => createSnapshot(tx, "active", "p!weird/key", undefined, undefined));
    const names: string[] = [];
    await ms.view(ctx, (tx) =>
      walkInfo(tx, alwaysTrue, (_id, info) => {
        names.push(info.name);
      }),
    );
    expect(names).toEqual(["extract-1 sha256:abc", "p!weird/key"]);
  });

  it("refuses removal with children and commit of non-active snapshots", async () => {
    const ms = await store();
    await ms.update(ctx, (tx) => createSnapshot(tx, "active", "a", undefined, undefined));
    await ms.update(ctx, (tx) => commitActive(tx, "a", "A", { size: 0, inodes: 0 }, undefined));
    await ms.update(ctx, (tx) => createSnapshot(tx, "view", "v", "A", undefined));
    const err = await ms.update(ctx, (tx) => removeSnapshot(tx, "A")).catch((e: unknown) => e);
    expect(kindOf(err)).toBe("FailedPrecondition");
    const err2 = await ms.view(ctx, (tx) => checkCommit(tx, "v", "V")).catch((e: unknown) => e);
    expect(kindOf(err2)).toBe("FailedPrecondition");
    await ms.update(ctx, (tx) => removeSnapshot(tx, "v"));
    await ms.update(ctx, (tx) => removeSnapshot(tx, "A"));
    expect([...(await ms.view(ctx, idMap))]).toEqual([]);
  });

  it("survives close and reopen of the same database, and refuses use after close", async () => {
    const db = new MemoryLevel();
    let ms = await store(db);
    await ms.update(ctx, (tx) => createSnapshot(tx, "active", "a", undefined, undefined));
    await ms.close();
    await ms.close();
    const err = await ms.view(ctx, (tx) => getInfo(tx, "a")).catch((e: unknown) => e);
    expect(kindOf(err)).toBe("FailedPrecondition");
    ms = await store(db);
    expect((await ms.view(ctx, (tx) => getInfo(tx, "a"))).id).toBe("1");
    expect(await ms.update(ctx, (tx) => createSnapshot(tx, "active", "b", undefined, undefined))).toMatchObject({ id: "2" });
    await ms.close();
  });
});
