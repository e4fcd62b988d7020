import { describe, expect, it } from "vitest";

import {
  expirationLabels,
  formatRfc3339,
  generateLeaseId,
  labelGcExpire,
  labelGcFlat,
  labelGcRefContent,
  labelGcRefSnapshotPrefix,
  labelGcRoot,
  parseExpiration,
} from "./index.js";

describe("generateLeaseId", () => {
  it("uses containerd's <nanoseconds>-<base64url(3 bytes)> format", () => {
    for (let i = 0; i < 100; i++) {
      const id = generateLeaseId();
      expect(id).toMatch(/^\d{1,9}-[A-Za-z0-9_-]{4}$/);
      expect(Number(id.split("-")[0])).toBeLessThan(1_000_000_000);
    }
  });

  it("takes the nanoseconds from the given time", () => {
    const id = generateLeaseId(new Date("2024-01-01T00:00:00.123Z"));
    const nanos = Number(id.split("-")[0]);
    expect(nanos).toBeGreaterThanOrEqual(123_000_000);
    expect(nanos).toBeLessThan(124_000_000);
  });

  it("is practically unique", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => generateLeaseId()));
    expect(ids.size).toBeGreaterThan(990);
  });
});

describe("labels", () => {
  it("keeps containerd's label keys", () => {
    expect(labelGcExpire).toBe("containerd.io/gc.expire");
    expect(labelGcFlat).toBe("containerd.io/gc.flat");
    expect(labelGcRoot).toBe("containerd.io/gc.root");
    expect(labelGcRefContent).toBe("containerd.io/gc.ref.content");
    expect(labelGcRefSnapshotPrefix).toBe("containerd.io/gc.ref.snapshot.");
  });

  it("formats expirations as Go's RFC3339", () => {
    expect(formatRfc3339(new Date("2024-05-06T07:08:09.876Z"))).toBe("2024-05-06T07:08:09Z");
    expect(expirationLabels(60_000, new Date("2024-05-06T07:08:09Z"))).toEqual({
      "containerd.io/gc.expire": "2024-05-06T07:09:09Z",
    });
  });

  it("parses RFC3339 expirations and rejects anything else", () => {
    expect(parseExpiration("2024-05-06T07:08:09Z")?.toISOString()).toBe("2024-05-06T07:08:09.000Z");
    expect(parseExpiration("2024-05-06T09:08:09.5+02:00")?.toISOString()).toBe("2024-05-06T07:08:09.500Z");
    expect(parseExpiration("tomorrow")).toBeUndefined();
    expect(parseExpiration("2024-05-06")).toBeUndefined();
    expect(parseExpiration("2024-13-06T07:08:09Z")).toBeUndefined();
  });
});
