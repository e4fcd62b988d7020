import { randomBytes } from "node:crypto";

import {
  ReadContentResponse,
  WriteAction,
  WriteContentRequest,
} from "@containerts/api/services/content/v1";
import { describe, expect, it } from "vitest";

import {
  decodeReadContentResponse,
  decodeWriteContentRequest,
  encodeReadContentResponse,
  encodeWriteContentRequest,
} from "./codec.js";

const base: WriteContentRequest = {
  action: WriteAction.STAT,
  ref: "",
  total: 0n,
  expected: "",
  offset: 0n,
  data: Buffer.alloc(0),
  labels: {},
};

const requests: WriteContentRequest[] = [
  base,
  { ...base, ref: "layer-sha256:abc", total: 1234n, expected: `sha256:${"a".repeat(64)}` },
  { ...base, action: WriteAction.WRITE, offset: 1n << 40n, data: Buffer.from(randomBytes(1 << 20)) },
  { ...base, action: WriteAction.COMMIT, total: 300n, offset: 300n, labels: { "containerd.io/gc.root": "x", "é": "ünï", empty: "" } },
  { ...base, action: WriteAction.UNRECOGNIZED, total: -1n, offset: -5n, ref: "ref with spaces / and ☃" },
  { ...base, total: (1n << 63n) - 1n, offset: -(1n << 63n) },
];

describe("copy-free content codecs", () => {
  it("encode WriteContentRequest exactly like the generated codec", () => {
    for (const m of requests) {
      expect(encodeWriteContentRequest(m).equals(Buffer.from(WriteContentRequest.encode(m).finish()))).toBe(true);
    }
  });

  it("decode what the generated codec encodes, with data as a view", () => {
    for (const m of requests) {
      const wire = Buffer.from(WriteContentRequest.encode(m).finish());
      const decoded = decodeWriteContentRequest(wire);
      expect(decoded).toEqual(WriteContentRequest.decode(wire));
      if (m.data.byteLength > 0) expect(decoded.data.buffer).toBe(wire.buffer);
    }
  });

  it("skips unknown fields and rejects truncated input", () => {
    const known = Buffer.from(WriteContentRequest.encode({ ...base, ref: "r", offset: 7n }).finish());
    // field 15 varint, field 16 length-delimited, field 17 fixed32, field 18 fixed64
    const unknown = Buffer.from([0x78, 0x96, 0x01, 0x82, 0x01, 0x02, 0x61, 0x62, 0x8d, 0x01, 1, 2, 3, 4, 0x91, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(decodeWriteContentRequest(Buffer.concat([unknown, known]))).toMatchObject({ ref: "r", offset: 7n });
    expect(() => decodeWriteContentRequest(known.subarray(0, known.length - 1))).toThrow(/malformed/);
  });

  it("round-trip ReadContentResponse", () => {
    for (const m of [
      { offset: 0n, data: Buffer.alloc(0) },
      { offset: 5n, data: Buffer.from("hello") },
      { offset: 0n, data: Buffer.from(randomBytes(1 << 20)) },
    ]) {
      const wire = Buffer.from(ReadContentResponse.encode(m).finish());
      expect(encodeReadContentResponse(m).equals(wire)).toBe(true);
      expect(decodeReadContentResponse(wire)).toEqual(ReadContentResponse.decode(wire));
    }
  });
});
