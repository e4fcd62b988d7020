import { describe, expect, it } from "vitest";
import {
  FrameParser,
  MESSAGE_HEADER_LENGTH,
  MESSAGE_LENGTH_MAX,
  MESSAGE_TYPE_REQUEST,
  MESSAGE_TYPE_RESPONSE,
  type ParsedFrame,
  encodeFrame,
  oversizedMessage,
} from "./frame.js";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

function frames(count: number): { wire: Buffer; payloads: number[][] } {
  const payloads: number[][] = [];
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const p = Uint8Array.from({ length: (i * 37) % 300 }, (_, j) => (i + j) & 0xff);
    payloads.push([...p]);
    parts.push(encodeFrame(2 * i + 1, MESSAGE_TYPE_REQUEST, p));
  }
  return { wire: Buffer.concat(parts), payloads };
}

function payloadsOf(out: ParsedFrame[]): number[][] {
  return out.map((f) => {
    if (f.kind !== "frame") throw new Error(`unexpected ${f.kind}`);
    return [...f.payload];
  });
}

describe("encodeFrame", () => {
  it("writes the 10-byte big-endian header observed on the wire", () => {
    // Observed Connect reply of a runc shim: 00 00 00 0a | 00 00 00 01 | 02 | 00
    const payload = bytes(0x12, 0x08, 0x08, 0x81, 0x80, 0x01, 0x10, 0x97, 0x80, 0x01);
    const frame = encodeFrame(1, MESSAGE_TYPE_RESPONSE, payload);
    expect([...frame.subarray(0, MESSAGE_HEADER_LENGTH)]).toEqual([0, 0, 0, 0x0a, 0, 0, 0, 1, 2, 0]);
    expect([...frame.subarray(MESSAGE_HEADER_LENGTH)]).toEqual([...payload]);
  });

  it("encodes large stream ids and empty payloads", () => {
    const frame = encodeFrame(0xfffffffd, MESSAGE_TYPE_REQUEST, new Uint8Array(0));
    expect([...frame]).toEqual([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfd, 1, 0]);
  });
});

describe("FrameParser", () => {
  it("parses frames delivered in one chunk", () => {
    const { wire, payloads } = frames(20);
    const parser = new FrameParser();
    const out = parser.push(wire);
    expect(out.map((f) => f.header.streamId)).toEqual(payloads.map((_, i) => 2 * i + 1));
    expect(payloadsOf(out)).toEqual(payloads);
    expect(parser.buffered).toBe(0);
  });

  it("parses the same stream byte by byte", () => {
    const { wire, payloads } = frames(12);
    const parser = new FrameParser();
    const out: ParsedFrame[] = [];
    for (const b of wire) out.push(...parser.push(bytes(b)));
    expect(payloadsOf(out)).toEqual(payloads);
    expect(parser.buffered).toBe(0);
  });

  it("parses the same stream split at every chunk size, with headers and payloads spanning chunks", () => {
    const { wire, payloads } = frames(8);
    for (const size of [2, 3, 7, 9, 10, 11, 64, 333]) {
      const parser = new FrameParser();
      const out: ParsedFrame[] = [];
      for (let i = 0; i < wire.length; i += size) out.push(...parser.push(wire.subarray(i, i + size)));
      expect(payloadsOf(out), `chunk size ${size}`).toEqual(payloads);
    }
  });

  it("returns a payload inside one chunk as a view, without copying", () => {
    const wire = encodeFrame(1, MESSAGE_TYPE_RESPONSE, bytes(1, 2, 3, 4));
    const [f] = new FrameParser().push(wire);
    expect(f?.kind).toBe("frame");
    if (f?.kind === "frame") expect(f.payload.buffer).toBe(wire.buffer);
  });

  it("keeps header fields (type, flags) and waits for incomplete frames", () => {
    const wire = encodeFrame(7, 0x03, bytes(9, 9), 0x05);
    const parser = new FrameParser();
    expect(parser.push(wire.subarray(0, 11))).toEqual([]);
    expect(parser.buffered).toBe(1); // the header is parsed, one payload byte is queued
    const [f] = parser.push(wire.subarray(11));
    expect(f?.header).toEqual({ length: 2, streamId: 7, type: 3, flags: 5 });
  });

  it("discards an oversized payload as it arrives and reports it once skipped, then continues", () => {
    const max = 16;
    const parser = new FrameParser(max);
    const big = encodeFrame(3, MESSAGE_TYPE_REQUEST, new Uint8Array(100).fill(7));
    const next = encodeFrame(5, MESSAGE_TYPE_REQUEST, bytes(1, 2, 3));
    expect(parser.push(big.subarray(0, 50))).toEqual([]);
    expect(parser.buffered).toBe(0); // nothing of the oversized payload is kept
    const out = parser.push(Buffer.concat([big.subarray(50), next]));
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({ kind: "oversized", header: { length: 100, streamId: 3, type: 1, flags: 0 } });
    expect(out[1]?.kind).toBe("frame");
    expect(out[1]?.header.streamId).toBe(5);
  });

  it("accepts a payload of exactly the maximum size and rejects one byte more", () => {
    const parser = new FrameParser();
    const ok = encodeFrame(1, MESSAGE_TYPE_REQUEST, new Uint8Array(MESSAGE_LENGTH_MAX));
    const [f] = parser.push(ok);
    expect(f?.kind).toBe("frame");
    const tooBig = encodeFrame(3, MESSAGE_TYPE_REQUEST, new Uint8Array(MESSAGE_LENGTH_MAX + 1));
    const [g] = parser.push(tooBig);
    expect(g).toEqual({
      kind: "oversized",
      header: { length: MESSAGE_LENGTH_MAX + 1, streamId: 3, type: 1, flags: 0 },
    });
  });

  it("parses many small chunks of a large payload in linear time", () => {
    // 4 MiB in 4 KiB chunks: a quadratic implementation would copy ~2 TiB here.
    const payload = new Uint8Array(MESSAGE_LENGTH_MAX).map((_, i) => i & 0xff);
    const wire = encodeFrame(1, MESSAGE_TYPE_REQUEST, payload);
    const parser = new FrameParser();
    const out: ParsedFrame[] = [];
    for (let i = 0; i < wire.length; i += 4096) out.push(...parser.push(wire.subarray(i, i + 4096)));
    expect(out).toHaveLength(1);
    expect(Buffer.compare(Buffer.from((out[0] as { payload: Uint8Array }).payload), Buffer.from(payload))).toBe(0);
  });

  it("formats the oversized message as ttrpc does", () => {
    expect(oversizedMessage(4194305)).toBe("message length 4194305 exceed maximum message size of 4194304");
  });
});
