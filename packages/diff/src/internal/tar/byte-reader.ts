/**
 * A pull reader over an async stream of byte chunks: exact reads for headers, zero-copy streaming for
 * entry bodies, skipping and draining. Chunks are handed out as views (`subarray`) of the source's
 * buffers, which sources never reuse (zlib and the content store allocate a fresh buffer per chunk).
 */
export class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #eof = false;
  /** Bytes consumed so far (handed out or skipped). */
  consumed = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  /** Bytes buffered and not consumed yet. */
  get buffered(): number {
    return this.#chunk.byteLength - this.#pos;
  }

  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.byteLength) {
      if (this.#eof) return false;
      const r = await this.#it.next();
      if (r.done === true) {
        this.#eof = true;
        return false;
      }
      this.#chunk = r.value;
      this.#pos = 0;
    }
    return true;
  }

  /**
   * Reads exactly `n` bytes, or fewer when the stream ends first (the caller checks the length).
   * Returns a view of the source chunk when it holds all `n` bytes, else a copy.
   */
  async read(n: number): Promise<Uint8Array> {
    if (!(await this.#fill())) return new Uint8Array(0);
    if (this.buffered >= n) {
      const out = this.#chunk.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      this.consumed += n;
      return out;
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n && (await this.#fill())) {
      const take = Math.min(n - got, this.buffered);
      out.set(this.#chunk.subarray(this.#pos, this.#pos + take), got);
      this.#pos += take;
      got += take;
      this.consumed += take;
    }
    return got === n ? out : out.subarray(0, got);
  }

  /**
   * Yields views of the next `n` bytes as they arrive. Returns early (yielding fewer bytes) when the
   * stream ends; the caller compares what it got with what it asked for.
   */
  async *stream(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0 && (await this.#fill())) {
      const take = Math.min(left, this.buffered);
      const out = this.#chunk.subarray(this.#pos, this.#pos + take);
      this.#pos += take;
      left -= take;
      this.consumed += take;
      yield out;
    }
  }

  /** Skips `n` bytes; resolves to the number actually skipped (less at the end of the stream). */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0 && (await this.#fill())) {
      const take = Math.min(left, this.buffered);
      this.#pos += take;
      left -= take;
      this.consumed += take;
    }
    return n - left;
  }

  /** Reads and discards everything up to the end of the stream. */
  async drain(): Promise<void> {
    while (await this.#fill()) {
      this.consumed += this.buffered;
      this.#pos = this.#chunk.byteLength;
    }
  }

  /** Stops the underlying iterator early (its `return`), e.g. after an error. */
  async close(): Promise<void> {
    if (this.#eof) return;
    this.#eof = true;
    await this.#it.return?.();
  }
}
