/**
 * The tokenizer of containerd's filter language (`filters/scanner.go`), reproduced step for step so that
 * positions and error messages match. Positions are UTF-16 offsets into the input (Go uses byte offsets;
 * the two agree for ASCII input).
 */

/** Token kinds; the negative numbering is Go's. A non-negative token is the code point itself (unexpected input). */
export const Token = {
  EOF: -1,
  Quoted: -2,
  Value: -3,
  Field: -4,
  Separator: -5,
  Operator: -6,
  Illegal: -7,
} as const;

/** A token: one of {@link Token} or a code point. */
export type TokenKind = number;

const SPACE = /^\p{White_Space}$/u;
const GRAPHIC = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Go's `unicode.IsSpace`. */
export function isSpaceRune(r: number): boolean {
  if (r < 0) return false;
  if (r < 0x80) return r === 0x20 || (r >= 0x09 && r <= 0x0d);
  return SPACE.test(String.fromCodePoint(r));
}

function isAlphaRune(r: number): boolean {
  return (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a);
}

function isDigitRune(r: number): boolean {
  return r >= 0x30 && r <= 0x39;
}

/** `_`, ASCII letters and digits: the runes of a bare field name. */
export function isFieldRune(r: number): boolean {
  return r === 0x5f || isAlphaRune(r) || isDigitRune(r);
}

function isOperatorRune(r: number): boolean {
  return r === 0x3d || r === 0x21 || r === 0x7e; // = ! ~
}

/** `"`, `/` and `|` open quoted literals. */
export function isQuoteRune(r: number): boolean {
  return r === 0x2f || r === 0x7c || r === 0x22;
}

function isSeparatorRune(r: number): boolean {
  return r === 0x2c || r === 0x2e; // , .
}

/** Any graphic rune except `,` and white space may appear in a bare value. */
function isValueRune(r: number): boolean {
  if (r < 0 || r === 0x2c || isSpaceRune(r)) return false;
  if (r < 0x80) return r > 0x20 && r < 0x7f;
  return GRAPHIC.test(String.fromCodePoint(r));
}

function digitVal(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  if (ch >= 0x61 && ch <= 0x66) return ch - 0x61 + 10;
  if (ch >= 0x41 && ch <= 0x46) return ch - 0x41 + 10;
  return 16;
}

/** One scanned token: where it starts, its kind and its text. */
export interface Scanned {
  readonly pos: number;
  readonly token: TokenKind;
  readonly text: string;
}

/** The filter tokenizer. `err` keeps the first scanning error, as Go's scanner does. */
export class Scanner {
  pos = 0;
  /** End of the current rune. */
  ppos = 0;
  /** Whether the next bare word is a value (set after an operator). */
  value = false;
  err = "";

  constructor(readonly input: string) {}

  /** Reads the next rune, or EOF, or Illegal (NUL, U+FFFD or a lone surrogate). */
  next(): number {
    if (this.pos >= this.input.length) return Token.EOF;
    this.pos = this.ppos;
    if (this.ppos >= this.input.length) return Token.EOF;
    const r = this.input.codePointAt(this.ppos) ?? 0;
    this.ppos += r > 0xffff ? 2 : 1;
    if (r === 0xfffd || (r >= 0xd800 && r <= 0xdfff)) {
      this.error("rune error");
      return Token.Illegal;
    }
    if (r === 0) {
      this.error("unexpected null");
      return Token.Illegal;
    }
    return r;
  }

  /** Looks at the next rune without consuming it (an error it meets is still recorded, as in Go). */
  peek(): number {
    const pos = this.pos;
    const ppos = this.ppos;
    const ch = this.next();
    this.pos = pos;
    this.ppos = ppos;
    return ch;
  }

  /** Scans one token, skipping white space before it. */
  scan(): Scanned {
    let ch = this.next();
    let pos = this.pos;
    for (;;) {
      if (ch === Token.EOF || ch === Token.Illegal) break;
      if (isQuoteRune(ch)) {
        const ok = this.scanQuoted(ch);
        return { pos, token: ok ? Token.Quoted : Token.Illegal, text: this.input.slice(pos, this.ppos) };
      }
      if (isSeparatorRune(ch)) {
        this.value = false;
        return { pos, token: Token.Separator, text: this.input.slice(pos, this.ppos) };
      }
      if (isOperatorRune(ch)) {
        this.scanOperator();
        this.value = true;
        return { pos, token: Token.Operator, text: this.input.slice(pos, this.ppos) };
      }
      if (isSpaceRune(ch)) {
        ch = this.next();
        pos = this.pos;
        continue;
      }
      if (this.value) {
        this.scanWhile(isValueRune);
        this.value = false;
        return { pos, token: Token.Value, text: this.input.slice(pos, this.ppos) };
      }
      if (isFieldRune(ch)) {
        this.scanWhile(isFieldRune);
        return { pos, token: Token.Field, text: this.input.slice(pos, this.ppos) };
      }
      break;
    }
    return { pos: this.pos, token: ch, text: "" };
  }

  private scanWhile(accept: (r: number) => boolean): void {
    while (accept(this.peek())) this.next();
  }

  private scanOperator(): void {
    while (isOperatorRune(this.peek())) this.next();
  }

  private scanQuoted(quote: number): boolean {
    let illegal = false;
    let ch = this.next();
    while (ch !== quote) {
      if (ch === 0x0a || ch < 0) {
        this.error("quoted literal not terminated");
        return false;
      }
      if (ch === 0x5c) {
        const [next, legal] = this.scanEscape(quote);
        ch = next;
        if (!legal) illegal = true;
      } else {
        ch = this.next();
      }
    }
    return !illegal;
  }

  private scanEscape(quote: number): [number, boolean] {
    const ch = this.next();
    switch (ch) {
      case 0x61: // a
      case 0x62: // b
      case 0x66: // f
      case 0x6e: // n
      case 0x72: // r
      case 0x74: // t
      case 0x76: // v
      case 0x5c: // backslash
      case quote:
        return [this.next(), true];
      case 0x78: // x
        return this.scanDigits(this.next(), 16, 2);
      case 0x75: // u
        return this.scanDigits(this.next(), 16, 4);
      case 0x55: // U
        return this.scanDigits(this.next(), 16, 8);
      default:
        if (ch >= 0x30 && ch <= 0x37) return this.scanDigits(ch, 8, 3);
        this.error("illegal escape sequence");
        return [ch, false];
    }
  }

  private scanDigits(ch: number, base: number, n: number): [number, boolean] {
    while (n > 0 && digitVal(ch) < base) {
      ch = this.next();
      n--;
    }
    if (n > 0) {
      this.error("illegal numeric escape sequence");
      return [ch, false];
    }
    return [ch, true];
  }

  private error(msg: string): void {
    if (this.err === "") this.err = msg;
  }
}
