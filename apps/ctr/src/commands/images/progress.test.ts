import { describe, expect, it } from "vitest";
import { bar, renderProgress } from "./progress.js";
import { goDuration, humanBytes, remoteOptions } from "./shared.js";

const strip = (s: string) => s.replace(/\x1b\[[0-9]+m/g, "");

describe("ctr's progress table", () => {
  it("draws 40-column bars like progress.Bar", () => {
    expect(strip(bar(0))).toBe(`|${"-".repeat(38)}|`);
    expect(strip(bar(1))).toBe(`|${"+".repeat(38)}|`);
    expect(strip(bar(0.5))).toBe(`|${"+".repeat(19)}${"-".repeat(19)}|`);
    expect(bar(1)).toContain("\x1b[32m");
  });

  it("lays out blobs and the elapsed line as content.Display", () => {
    const text = strip(
      renderProgress(
        [
          { ref: "example.com/a:1", status: "resolved", offset: 0, total: 0 },
          { ref: "layer-sha256:aa", status: "downloading", offset: 1024, total: 4096 },
          { ref: "config-sha256:bb", status: "waiting", offset: 0, total: 10 },
        ],
        1500,
      ),
    );
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^example\.com\/a:1: +resolved +\|\+{38}\| $/);
    expect(lines[1]).toMatch(/^layer-sha256:aa: +downloading +\|\+{9}-{29}\| +1\.0 KiB\/4\.0 KiB $/);
    expect(lines[2]).toMatch(/^config-sha256:bb: +waiting +\|-{38}\| $/);
    expect(lines[3]).toMatch(/^elapsed: 1\.5 s +total: {2}1\.0 Ki +\(682\.0 B\/s\) +$/);
  });

  it("formats sizes, durations and --user like ctr", () => {
    expect(humanBytes(0)).toBe("0.0 B");
    expect(humanBytes(1536)).toBe("1.5 KiB");
    expect(goDuration(1234.5)).toBe("1.2345s");
    expect(goDuration(850.25)).toBe("850.25ms");
    expect(remoteOptions({ user: "me:secret", plainHttp: true })).toEqual({ plainHttp: true, auth: { username: "me", password: "secret" } });
    expect(remoteOptions({ user: "me" })).toEqual({ auth: { username: "me", password: "" } });
  });
});
