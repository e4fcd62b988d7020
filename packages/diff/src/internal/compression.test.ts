import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { chunks, zstdRawFrame } from "../__fixtures__/tar.js";
import { createZstdDecoder, decompressStream, detectCompression, type ZstdDecoder } from "./compression.js";

const decoders: ZstdDecoder[] = [];
afterEach(async () => {
  for (const d of decoders.splice(0)) await d.close();
});

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe("decompression", () => {
  it("detects gzip, zstd and skippable zstd frames by magic number", () => {
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 0x08, 0]))).toBe("gzip");
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe("zstd");
    expect(detectCompression(Buffer.from([0x5e, 0x2a, 0x4d, 0x18]))).toBe("zstd");
    expect(detectCompression(Buffer.from("ustar"))).toBe("uncompressed");
    expect(detectCompression(Buffer.alloc(0))).toBe("uncompressed");
  });

  it("decodes the same bytes in the worker and inline, in any chunking", async () => {
    const data = randomBytes(700_000);
    const frame = zstdRawFrame(data, true);
    const worker = createZstdDecoder();
    decoders.push(worker);
    const signal = new AbortController().signal;
    expect((await collect(decompressStream(chunks(frame, 100_000), worker, signal))).equals(data)).toBe(true);
    const inline = createZstdDecoder();
    await inline.close();
    expect((await collect(decompressStream(chunks(frame, 4096), inline, signal))).equals(data)).toBe(true);
    expect((await collect(decompressStream(chunks(gzipSync(data), 999), worker, signal))).equals(data)).toBe(true);
    expect((await collect(decompressStream(chunks(data, 5000), worker, signal))).equals(data)).toBe(true);
  });

  it("fails cleanly on corrupt data and when the consumer stops early", async () => {
    const worker = createZstdDecoder();
    decoders.push(worker);
    const signal = new AbortController().signal;
    const frame = zstdRawFrame(randomBytes(300_000));
    await expect(collect(decompressStream(chunks(frame.subarray(0, 200_000), 50_000), worker, signal))).rejects.toThrow(/zstd/);
    const gz = gzipSync(randomBytes(100_000));
    gz[gz.byteLength - 5] = (gz[gz.byteLength - 5] as number) ^ 0xff;
    await expect(collect(decompressStream(chunks(gz, 1000), worker, signal))).rejects.toThrow();
    for await (const c of decompressStream(chunks(frame, 10_000), worker, signal)) {
      expect(c.byteLength).toBeGreaterThan(0);
      break;
    }
    // The decoder is still usable afterwards.
    expect((await collect(decompressStream(chunks(zstdRawFrame(Buffer.from("ok"))), worker, signal))).toString()).toBe("ok");
  });
});
