import { isInvalidArgument } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";
import { checkInstance } from "./check-instance.js";

interface ContentStoreSource {
  contentStore(): unknown;
  close(): Promise<void>;
}

class Db {
  contentStore(): string {
    return "store";
  }
  async close(): Promise<void> {}
}

describe("checkInstance", () => {
  it("returns the value typed when every method is present, on the object or its prototype", () => {
    const db = new Db();
    const checked = checkInstance<ContentStoreSource>(db, ["contentStore", "close"], "metadata plugin");
    expect(checked).toBe(db);
    expect(checked.contentStore()).toBe("store");
  });

  it("names every missing method", () => {
    let err: unknown;
    try {
      checkInstance<ContentStoreSource>({ contentStore: 1 }, ["contentStore", "close"], "metadata plugin");
    } catch (e) {
      err = e;
    }
    expect(isInvalidArgument(err)).toBe(true);
    expect((err as Error).message).toBe("metadata plugin: missing methods contentStore, close: invalid argument");
  });

  it.each([
    [undefined, "undefined"],
    [null, "null"],
    ["text", "string"],
  ])("rejects %s", (value, got) => {
    expect(() => checkInstance<ContentStoreSource>(value, ["contentStore"], "metadata plugin")).toThrow(
      `metadata plugin: expected an object with methods contentStore, got ${got}: invalid argument`,
    );
  });
});
