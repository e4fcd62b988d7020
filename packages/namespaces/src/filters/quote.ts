/**
 * Unquoting of filter literals (`filters/quote.go`): Go string syntax, with `/` and `|` accepted as
 * delimiters besides `"` so that regular expressions need fewer escapes.
 */
import { decodeUtf8, pushUtf8 } from "../internal/utf8.js";

/** The message Go's unquote fails with. */
export const QUOTE_SYNTAX_ERROR = "quote syntax error";

function unhex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 0x5c };

/**
 * Interprets `s` (delimiters included) as a quoted literal delimited by `"`, `'`, `/`, `|` or a backquote
 * and returns its value. `\x` and octal escapes produce bytes, as in Go; bytes that do not form UTF-8
 * become U+FFFD.
 *
 * Returns undefined when `s` is not a valid literal (Go's "quote syntax error").
 */
export function unquote(s: string): string | undefined {
  if (s.length < 2) return undefined;
  const quote = s[0];
  if (quote !== s[s.length - 1]) return undefined;
  const body = s.slice(1, -1);
  if (quote === "`") {
    if (body.includes("`")) return undefined;
    return body.replaceAll("\r", "");
  }
  if (quote !== '"' && quote !== "'" && quote !== "|" && quote !== "/") return undefined;
  if (body.includes("\n")) return undefined;
  if (!body.includes("\\") && !body.includes(quote)) {
    if (quote !== "'") return body;
    if ([...body].length === 1) return body;
  }

  const bytes: number[] = [];
  let i = 0;
  while (i < body.length) {
    const c = body[i] as string;
    if (c === quote) return undefined;
    if (c !== "\\") {
      const cp = body.codePointAt(i) ?? 0xfffd;
      pushUtf8(bytes, cp);
      i += cp > 0xffff ? 2 : 1;
    } else {
      if (i + 1 >= body.length) return undefined;
      const e = body[i + 1] as string;
      i += 2;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        bytes.push(simple);
      } else if (e === "x" || e === "u" || e === "U") {
        const n = e === "x" ? 2 : e === "u" ? 4 : 8;
        if (body.length - i < n) return undefined;
        let v = 0;
        for (let j = 0; j < n; j++) {
          const x = unhex(body.charCodeAt(i + j));
          if (x < 0) return undefined;
          v = v * 16 + x;
        }
        i += n;
        if (e === "x") bytes.push(v);
        else if (v > 0x10ffff) return undefined;
        else pushUtf8(bytes, v);
      } else if (e >= "0" && e <= "7") {
        let v = e.charCodeAt(0) - 0x30;
        if (body.length - i < 2) return undefined;
        for (let j = 0; j < 2; j++) {
          const x = body.charCodeAt(i + j) - 0x30;
          if (x < 0 || x > 7) return undefined;
          v = (v << 3) | x;
        }
        i += 2;
        if (v > 255) return undefined;
        bytes.push(v);
      } else if (e === "'" || e === '"' || e === "|" || e === "/") {
        if (e !== quote) return undefined;
        bytes.push(e.charCodeAt(0));
      } else {
        return undefined;
      }
    }
    if (quote === "'" && i < body.length) return undefined;
  }
  return decodeUtf8(bytes);
}
