import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "./log.js";

describe("createLogger", () => {
  let dir = "";
  afterEach(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("writes JSON lines with fields, errors as messages, debug only when asked", async () => {
    dir = await mkdtemp(join(tmpdir(), "tsrunc-log-"));
    const path = join(dir, "log");
    const fd = openSync(path, "w");
    try {
      const log = createLogger({ fd, fields: { runtime: "r" } }).child({ id: "c1" });
      log.debug("hidden");
      log.warn("careful", { error: new Error("boom"), n: 5n });
    } finally {
      closeSync(fd);
    }
    const lines = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warning", msg: "careful", runtime: "r", id: "c1", error: "boom", n: "5" });
  });

  it("never throws when the descriptor is unusable", () => {
    expect(() => createLogger({ fd: 987654 }).error("lost")).not.toThrow();
  });
});
