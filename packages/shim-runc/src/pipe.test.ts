import { fstatSync, readSync, writeSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { closeQuietly, createPipe } from "./pipe.js";

describe("createPipe", () => {
  let dir = "";
  afterEach(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("returns the two ends of a real pipe and leaves no name behind", async () => {
    dir = await mkdtemp(join(tmpdir(), "tsrunc-pipe-"));
    const p = createPipe(dir);
    try {
      expect(fstatSync(p.read).isFIFO()).toBe(true);
      expect(fstatSync(p.write).isFIFO()).toBe(true);
      expect(await readdir(dir)).toEqual([]);
      writeSync(p.write, "ping");
      closeQuietly(p.write);
      const buf = Buffer.alloc(16);
      expect(buf.toString("utf8", 0, readSync(p.read, buf))).toBe("ping");
      expect(readSync(p.read, buf)).toBe(0); // EOF once the only writer is closed
    } finally {
      closeQuietly(p.read);
      closeQuietly(p.write);
    }
  });
});
