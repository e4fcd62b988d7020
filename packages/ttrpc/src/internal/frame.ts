/**
 * ttrpc v1.1 framing: a 10-byte header (uint32 BE payload length, uint32 BE stream id, type byte, flags
 * byte) followed by the payload, and an incremental parser for a byte stream.
 */

/** Length of the frame header in bytes. */
export const MESSAGE_HEADER_LENGTH = 10;

/** Largest payload a receiver accepts (`4 << 20`, as ttrpc's `messageLengthMax`). */
export const MESSAGE_LENGTH_MAX = 4 << 20;

/** Frame type byte of a request (client → server). */
export const MESSAGE_TYPE_REQUEST = 0x01;

/** Frame type byte of a response (server → client). */
export const MESSAGE_TYPE_RESPONSE = 0x02;

/** The decoded 10-byte header of a frame. */
export interface FrameHeader {
  /** Payload length in bytes (excludes the header). */
  readonly length: number;
  /** Stream id: odd for client-initiated streams. */
  readonly streamId: number;
  /** Message type (1 request, 2 response; other values are ignored by v1.1 peers). */
  readonly type: number;
  /** Flags (reserved in v1.1, always 0 when sent). */
  readonly flags: number;
}

/**
 * One unit produced by {@link FrameParser}: a complete frame, or the header of a frame whose payload
 * exceeded the maximum and was discarded (reported once the whole payload has been skipped, as
 * ttrpc's `channel.recv` does).
 */
export type ParsedFrame =
  | { readonly kind: "frame"; readonly header: FrameHeader; readonly payload: Uint8Array }
  | { readonly kind: "oversized"; readonly header: FrameHeader };

/** The message ttrpc uses for an oversized frame (the receiver's ResourceExhausted status). */
export function oversizedMessage(length: number, max: number = MESSAGE_LENGTH_MAX): string {
  return `message length ${length} exceed maximum message size of ${max}`;
}

/** Encodes a frame: header and payload in one buffer, ready for a single socket write. */
export function encodeFrame(streamId: number, type: number, payload: Uint8Array, flags = 0): Buffer {
  const frame = Buffer.allocUnsafe(MESSAGE_HEADER_LENGTH + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(streamId >>> 0, 4);
  frame[8] = type;
  frame[9] = flags;
  frame.set(payload, MESSAGE_HEADER_LENGTH);
  return frame;
}

/**
 * Incremental parser of a ttrpc byte stream.
 *
 * Chunks are queued without being concatenated; a payload that lies inside one chunk is returned as a
 * view of it (no copy), and a payload that spans chunks is copied once into a buffer of its exact size,
 * so parsing is linear in the bytes received whatever the chunking. Oversized payloads are skipped as
 * they arrive and never buffered.
 */
export class FrameParser {
  readonly #max: number;
  #chunks: Uint8Array[] = [];
  /** Index of the first unconsumed chunk in #chunks. */
  #first = 0;
  /** Offset of the first unconsumed byte inside #chunks[#first]. */
  #offset = 0;
  /** Unconsumed bytes held in #chunks. */
  #buffered = 0;
  /** Header read while waiting for its payload (or while discarding it). */
  #header: FrameHeader | undefined;
  /** Bytes still to discard of an oversized payload. */
  #discard = 0;

  /** @param max the largest accepted payload; defaults to {@link MESSAGE_LENGTH_MAX}. */
  constructor(max: number = MESSAGE_LENGTH_MAX) {
    this.#max = max;
  }

  /** Bytes queued and not yet returned (a header already parsed while its payload is awaited is not counted). */
  get buffered(): number {
    return this.#buffered;
  }

  /** Feeds a chunk of the stream and returns the frames it completed, in stream order. */
  push(chunk: Uint8Array): ParsedFrame[] {
    const out: ParsedFrame[] = [];
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    for (;;) {
      if (this.#header === undefined) {
        if (this.#buffered < MESSAGE_HEADER_LENGTH) break;
        const h = this.#take(MESSAGE_HEADER_LENGTH);
        const header: FrameHeader = {
          length: ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0,
          streamId: ((h[4]! << 24) | (h[5]! << 16) | (h[6]! << 8) | h[7]!) >>> 0,
          type: h[8]!,
          flags: h[9]!,
        };
        this.#header = header;
        if (header.length > this.#max) this.#discard = header.length;
      }
      const header = this.#header;
      if (header.length > this.#max) {
        const n = Math.min(this.#discard, this.#buffered);
        this.#skip(n);
        this.#discard -= n;
        if (this.#discard > 0) break;
        this.#header = undefined;
        out.push({ kind: "oversized", header });
        continue;
      }
      if (this.#buffered < header.length) break;
      const payload = this.#take(header.length);
      this.#header = undefined;
      out.push({ kind: "frame", header, payload });
    }
    this.#compact();
    return out;
  }

  /** Removes `n` buffered bytes (n ≤ #buffered) and returns them, as a view when they lie in one chunk. */
  #take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const head = this.#chunks[this.#first]!;
    const avail = head.length - this.#offset;
    if (avail >= n) {
      const view = head.subarray(this.#offset, this.#offset + n);
      this.#advance(n);
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[this.#first]!;
      const m = Math.min(c.length - this.#offset, n - filled);
      out.set(c.subarray(this.#offset, this.#offset + m), filled);
      filled += m;
      this.#advance(m);
    }
    return out;
  }

  /** Drops `n` buffered bytes (n ≤ #buffered). */
  #skip(n: number): void {
    while (n > 0) {
      const c = this.#chunks[this.#first]!;
      const m = Math.min(c.length - this.#offset, n);
      this.#advance(m);
      n -= m;
    }
  }

  /** Consumes `m` bytes of the first chunk (m ≤ its remaining length). */
  #advance(m: number): void {
    this.#offset += m;
    this.#buffered -= m;
    if (this.#offset === this.#chunks[this.#first]!.length) {
      this.#chunks[this.#first] = EMPTY; // release the chunk for GC
      this.#first++;
      this.#offset = 0;
    }
  }

  /** Drops consumed chunk slots so the queue array does not grow without bound. */
  #compact(): void {
    if (this.#first === this.#chunks.length) {
      this.#chunks = [];
      this.#first = 0;
    } else if (this.#first > 64 && this.#first * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#first);
      this.#first = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
