/**
 * UTF-8 helpers: containerd measures strings in bytes (Go's `len`), JavaScript in UTF-16 code units.
 * A lone surrogate counts as U+FFFD (three bytes), which is what encoding it to UTF-8 produces.
 */

/** The number of bytes `s` takes in UTF-8. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * The first `max` bytes of `s` in UTF-8, decoded again; a character cut in half becomes U+FFFD,
 * which is what a UTF-8 reader makes of Go's byte slice `s[:max]`.
 */
export function utf8Prefix(s: string, max: number): string {
  const bytes = new TextEncoder().encode(s);
  if (bytes.length <= max) return s;
  return new TextDecoder().decode(bytes.subarray(0, max));
}

/** Appends the UTF-8 encoding of code point `cp` to `out` (surrogates encode as U+FFFD, as Go's EncodeRune does). */
export function pushUtf8(out: number[], cp: number): void {
  if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}

/** Decodes UTF-8 bytes, replacing invalid sequences with U+FFFD. */
export function decodeUtf8(bytes: readonly number[]): string {
  return new TextDecoder().decode(Uint8Array.from(bytes));
}
