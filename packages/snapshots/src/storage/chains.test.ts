import { describe, expect, it } from "vitest";
import { ParentChains } from "./chains.js";

describe("ParentChains", () => {
  it("remembers chains nearest first and shares their common ancestors", () => {
    const chains = new ParentChains();
    expect(chains.chain("1")).toBeUndefined();
    chains.remember(["3", "2", "1"]);
    expect(chains.chain("3")).toEqual(["3", "2", "1"]);
    expect(chains.chain("2")).toEqual(["2", "1"]);
    expect(chains.chain("1")).toEqual(["1"]);
    // A branch on 2: only the new link is added.
    chains.remember(["5", "4"], "2");
    expect(chains.chain("5")).toEqual(["5", "4", "2", "1"]);
    expect(chains.size).toBe(5);
  });

  it("keeps what it already knows and ignores a chain above a snapshot it does not know", () => {
    const chains = new ParentChains();
    chains.remember(["2", "1"]);
    chains.remember(["2", "9"]);
    expect(chains.chain("2")).toEqual(["2", "1"]);
    chains.remember(["7"], "8");
    expect(chains.chain("7")).toBeUndefined();
  });

  it("forgets removed snapshots", () => {
    const chains = new ParentChains();
    chains.remember(["2", "1"]);
    chains.forget("2");
    expect(chains.chain("2")).toBeUndefined();
    expect(chains.chain("1")).toEqual(["1"]);
    expect(chains.size).toBe(1);
  });
});
