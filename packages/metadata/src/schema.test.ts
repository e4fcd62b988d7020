import { kindOf } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";

import { compareKeys, dbVersion, decodeKey, key, pendingMigrations, schemaVersion, suffix, under } from "./schema.js";

describe("key encoding", () => {
  const awkward = ["", "a", "a/b", "with space", "nul\x00inside", "esc\x01ape", "\x00", "\x01\x00\x01", "ünï", "😀", "\uffff"];

  it("round-trips any component", () => {
    for (const a of awkward) for (const b of awkward) expect(decodeKey(key("v1", a, b))).toEqual(["v1", a, b]);
  });

  it("keeps every key under a tuple inside its range, and no other", () => {
    for (const parent of awkward) {
      const r = under("x", parent);
      for (const other of awkward) {
        for (const child of awkward) {
          const k = key("x", other, child);
          const inside = compareKeys(k, r.gte) >= 0 && compareKeys(k, r.lt) < 0;
          expect(inside).toBe(other === parent);
        }
        // The tuple's own key is not under it.
        expect(compareKeys(key("x", parent), r.gte) < 0).toBe(true);
      }
    }
    expect(suffix(key("a", "b", "c", "d"), ["a", "b"])).toEqual(["c", "d"]);
  });

  it("orders keys like the database (UTF-8 bytes), tuple by tuple", () => {
    const sorted = [...awkward].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const byKey = [...awkward].sort((a, b) => compareKeys(key(a), key(b)));
    // Escaping keeps order except among strings that differ in the escaped bytes themselves.
    const plain = (s: string) => !s.includes("\x00") && !s.includes("\x01");
    expect(byKey.filter(plain)).toEqual(sorted.filter(plain));
    for (const a of awkward) {
      for (const b of awkward) {
        const bytes = Math.sign(Buffer.compare(Buffer.from(key(a)), Buffer.from(key(b))));
        expect(Math.sign(compareKeys(key(a), key(b)))).toBe(bytes);
      }
    }
    // A shorter component sorts before its extensions: ("a","z") < ("ab","a").
    expect(compareKeys(key("a", "z"), key("ab", "a"))).toBeLessThan(0);
  });
});

describe("schema versions", () => {
  const m = (version: number) => ({ version, description: `m${version}`, migrate: async () => undefined });

  it("runs nothing on a fresh database and the missing migrations otherwise, in order", () => {
    expect(pendingMigrations(undefined, [m(1)])).toEqual([]);
    expect(pendingMigrations({ schema: schemaVersion, version: 1 }, [m(3), m(2)], 3).map((x) => x.version)).toEqual([2, 3]);
    expect(pendingMigrations({ schema: schemaVersion, version: dbVersion }, [m(dbVersion)])).toEqual([]);
  });

  it("refuses newer versions and other schemas", () => {
    let err: unknown;
    try {
      pendingMigrations({ schema: schemaVersion, version: dbVersion + 1 }, []);
    } catch (e) {
      err = e;
    }
    expect(kindOf(err)).toBe("FailedPrecondition");
    expect(String(err)).toContain("refusing to open");
    expect(() => pendingMigrations({ schema: "v2", version: 1 }, [])).toThrow(/schema "v2"/);
  });
});
