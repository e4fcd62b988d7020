/**
 * HPACK (RFC 7541) for the daemon's HTTP/2 server: a full decoder (static and dynamic tables, Huffman
 * strings, table size updates) and the small encoder the server needs (literal fields without indexing,
 * no Huffman: always valid, and a gRPC response has only a handful of short fields).
 */

/** A header block that cannot be decoded: a connection error (COMPRESSION_ERROR) for the caller. */
export class HpackError extends Error {}

/** RFC 7541 Appendix A. */
const STATIC: readonly (readonly [string, string])[] = [
  [":authority", ""], [":method", "GET"], [":method", "POST"], [":path", "/"], [":path", "/index.html"],
  [":scheme", "http"], [":scheme", "https"], [":status", "200"], [":status", "204"], [":status", "206"],
  [":status", "304"], [":status", "400"], [":status", "404"], [":status", "500"], ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"], ["accept-language", ""], ["accept-ranges", ""], ["accept", ""],
  ["access-control-allow-origin", ""], ["age", ""], ["allow", ""], ["authorization", ""], ["cache-control", ""],
  ["content-disposition", ""], ["content-encoding", ""], ["content-language", ""], ["content-length", ""],
  ["content-location", ""], ["content-range", ""], ["content-type", ""], ["cookie", ""], ["date", ""],
  ["etag", ""], ["expect", ""], ["expires", ""], ["from", ""], ["host", ""], ["if-match", ""],
  ["if-modified-since", ""], ["if-none-match", ""], ["if-range", ""], ["if-unmodified-since", ""],
  ["last-modified", ""], ["link", ""], ["location", ""], ["max-forwards", ""], ["proxy-authenticate", ""],
  ["proxy-authorization", ""], ["range", ""], ["referer", ""], ["refresh", ""], ["retry-after", ""],
  ["server", ""], ["set-cookie", ""], ["strict-transport-security", ""], ["transfer-encoding", ""],
  ["user-agent", ""], ["vary", ""], ["via", ""], ["www-authenticate", ""],
];

/**
 * The bit length of each symbol's code (0–255, then EOS) in RFC 7541 Appendix B. The code is canonical:
 * codes of one length are consecutive in symbol order, each length's first code following the last code
 * of the shorter lengths, so the lengths determine every code (checked against the RFC in hpack.test.ts).
 */
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;

/** Every symbol's canonical code, from {@link HUFFMAN_LENGTHS}. */
export function huffmanCodes(): { code: number; length: number }[] {
  const order = HUFFMAN_LENGTHS.map((length, symbol) => ({ symbol, length })).sort((a, b) => a.length - b.length || a.symbol - b.symbol);
  const codes: { code: number; length: number }[] = new Array(HUFFMAN_LENGTHS.length);
  let code = 0;
  let prev = order[0]!.length;
  for (const { symbol, length } of order) {
    code *= 2 ** (length - prev);
    prev = length;
    codes[symbol] = { code, length };
    code++;
  }
  return codes;
}

/**
 * The decoding tree as flat arrays: node n's children are `tree[2n]` (bit 0) and `tree[2n+1]` (bit 1); a
 * child value below zero is a leaf holding symbol `-(value + 1)`; zero means no such code.
 */
const TREE: Int32Array = (() => {
  const tree = new Int32Array(2 * 512);
  let next = 1;
  const codes = huffmanCodes();
  codes.forEach(({ code, length }, symbol) => {
    let node = 0;
    for (let i = length - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) % 2;
      const slot = 2 * node + bit;
      if (i === 0) {
        tree[slot] = -(symbol + 1);
      } else {
        if (tree[slot] === 0) tree[slot] = next++;
        node = tree[slot]!;
      }
    }
  });
  return tree;
})();

/** Decodes a Huffman-coded string (RFC 7541 §5.2): the padding must be at most 7 one-bits, EOS is refused. */
export function huffmanDecode(buf: Uint8Array, start: number, end: number): string {
  let out = "";
  let node = 0;
  let depth = 0; // bits read since the last symbol
  let ones = true; // those bits are all ones (a valid padding so far)
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const child = TREE[2 * node + bit]!;
      depth++;
      ones &&= bit === 1;
      if (child < 0) {
        const symbol = -(child + 1);
        if (symbol === EOS) throw new HpackError("huffman: EOS in string");
        out += String.fromCharCode(symbol);
        node = 0;
        depth = 0;
        ones = true;
      } else if (child === 0) {
        throw new HpackError("huffman: invalid code");
      } else {
        node = child;
      }
    }
  }
  if (depth > 7 || !ones) throw new HpackError("huffman: invalid padding");
  return out;
}

/** An HPACK decoding context (one per connection and direction). Names and values are latin1 strings. */
export class HpackDecoder {
  readonly #table: [string, string][] = []; // newest first
  #size = 0;
  #max: number;
  /** The limit this side announced (SETTINGS_HEADER_TABLE_SIZE): size updates may not exceed it. */
  readonly #limit: number;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;

  /** The largest decoded header list accepted (names, values and 32 per field, as RFC 9113 counts it). */
  readonly #maxList: number;

  constructor(limit = 4096, maxList = 16 << 20) {
    this.#limit = limit;
    this.#max = limit;
    this.#maxList = maxList;
  }

  /** Decodes one complete header block into `[name, value]` pairs, in order. */
  decode(block: Uint8Array): [string, string][] {
    this.#buf = block;
    this.#pos = 0;
    const out: [string, string][] = [];
    let listSize = 0;
    const push = (name: string, value: string) => {
      listSize += name.length + value.length + 32;
      if (listSize > this.#maxList) throw new HpackError(`header list larger than ${this.#maxList} bytes`);
      out.push([name, value]);
    };
    while (this.#pos < block.length) {
      const b = block[this.#pos]!;
      if (b & 0x80) {
        const e = this.#entry(this.#int(7));
        push(e[0], e[1]);
      } else if (b & 0x40) {
        const idx = this.#int(6);
        const name = idx === 0 ? this.#string() : this.#entry(idx)[0];
        const value = this.#string();
        this.#add(name, value);
        push(name, value);
      } else if (b & 0x20) {
        const max = this.#int(5);
        if (max > this.#limit) throw new HpackError(`table size update ${max} over the limit ${this.#limit}`);
        this.#max = max;
        this.#evict(0);
      } else {
        const idx = this.#int(4);
        const name = idx === 0 ? this.#string() : this.#entry(idx)[0];
        push(name, this.#string());
      }
    }
    this.#buf = new Uint8Array(0);
    return out;
  }

  #int(prefix: number): number {
    const buf = this.#buf;
    const mask = (1 << prefix) - 1;
    let v = buf[this.#pos++]! & mask;
    if (v < mask) return v;
    let m = 1;
    for (;;) {
      if (this.#pos >= buf.length) throw new HpackError("truncated integer");
      const b = buf[this.#pos++]!;
      v += (b & 0x7f) * m;
      m *= 128;
      if (v > 0x7fffffff) throw new HpackError("integer overflow");
      if ((b & 0x80) === 0) return v;
    }
  }

  #string(): string {
    if (this.#pos >= this.#buf.length) throw new HpackError("truncated string");
    const huffman = (this.#buf[this.#pos]! & 0x80) !== 0;
    const len = this.#int(7);
    const start = this.#pos;
    const end = start + len;
    if (end > this.#buf.length) throw new HpackError("truncated string");
    this.#pos = end;
    if (huffman) return huffmanDecode(this.#buf, start, end);
    return Buffer.from(this.#buf.buffer, this.#buf.byteOffset + start, len).toString("latin1");
  }

  #entry(idx: number): readonly [string, string] {
    if (idx === 0) throw new HpackError("index 0");
    if (idx <= STATIC.length) return STATIC[idx - 1]!;
    const e = this.#table[idx - STATIC.length - 1];
    if (e === undefined) throw new HpackError(`index ${idx} out of the table`);
    return e;
  }

  #add(name: string, value: string): void {
    const size = name.length + value.length + 32;
    this.#evict(size);
    if (size > this.#max) return; // RFC 7541 §4.4: the table is emptied and the entry not added
    this.#table.unshift([name, value]);
    this.#size += size;
  }

  #evict(room: number): void {
    while (this.#size + room > this.#max && this.#table.length > 0) {
      const e = this.#table.pop()!;
      this.#size -= e[0].length + e[1].length + 32;
    }
  }
}

function encodeInt(out: number[], first: number, prefix: number, v: number): void {
  const mask = (1 << prefix) - 1;
  if (v < mask) {
    out.push(first | v);
    return;
  }
  out.push(first | mask);
  v -= mask;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function encodeString(out: number[], s: Buffer): void {
  encodeInt(out, 0, 7, s.length);
  for (const b of s) out.push(b);
}

/**
 * Encodes header fields as literals without indexing (a static-table name index where there is one), and
 * `:status: 200` as its static entry. The encoder keeps no state, so any peer table size is fine.
 */
export function encodeHeaders(fields: readonly (readonly [string, string])[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    if (name === ":status" && value === "200") {
      out.push(0x88);
      continue;
    }
    const idx = STATIC.findIndex((e) => e[0] === name);
    if (idx >= 0) encodeInt(out, 0, 4, idx + 1);
    else {
      out.push(0);
      encodeString(out, Buffer.from(name, "latin1"));
    }
    encodeString(out, Buffer.from(value, "latin1"));
  }
  return Buffer.from(out);
}
