import { describe, expect, it } from "vitest";
import { Mutex } from "./events.js";

describe("Mutex", () => {
  it("runs sections one at a time in call order, past failures", async () => {
    const m = new Mutex();
    const order: string[] = [];
    const a = m.run(async () => {
      order.push("a:start");
      await new Promise((r) => setTimeout(r, 20));
      order.push("a:end");
      return 1;
    });
    const b = m.run(() => {
      order.push("b");
      throw new Error("boom");
    });
    const c = m.run(() => {
      order.push("c");
      return 3;
    });
    expect(await a).toBe(1);
    await expect(b).rejects.toThrow("boom");
    expect(await c).toBe(3);
    expect(order).toEqual(["a:start", "a:end", "b", "c"]);
  });
});
