/**
 * Go's `strconv.Quote` (the `%q` verb), so that messages quoting user input read exactly like containerd's.
 */

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** True for the code points Go's `unicode.IsPrint` accepts: letters, marks, numbers, punctuation, symbols and U+0020. */
function isGoPrint(cp: number): boolean {
  return cp === 0x20 || PRINTABLE.test(String.fromCodePoint(cp));
}

const SIMPLE: Readonly<Record<number, string>> = {
  0x07: "\\a",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x0b: "\\v",
};

/** Quotes `s` as a Go double-quoted string literal, escaping like `strconv.Quote`. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    let cp = ch.codePointAt(0) ?? 0xfffd;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // lone surrogate: what UTF-8 encoding makes of it
    if (cp === 0x22 || cp === 0x5c) {
      out += `\\${String.fromCharCode(cp)}`;
    } else if (isGoPrint(cp)) {
      out += String.fromCodePoint(cp);
    } else if (SIMPLE[cp] !== undefined) {
      out += SIMPLE[cp];
    } else if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${cp.toString(16).padStart(2, "0")}`;
    } else if (cp < 0x10000) {
      out += `\\u${cp.toString(16).padStart(4, "0")}`;
    } else {
      out += `\\U${cp.toString(16).padStart(8, "0")}`;
    }
  }
  return `${out}"`;
}
