/**
 * The parser of containerd's filter language (`filters/parser.go`), with its error messages.
 *
 * ```
 * selectors := selector ("," selector)*
 * selector  := fieldpath (operator value)
 * fieldpath := field ('.' field)*
 * field     := quoted | [A-Za-z0-9_]+
 * operator  := "==" | "!=" | "~="
 * value     := quoted | [^\s,]+
 * quoted    := <go string syntax>, also /…/ and |…| for "~=" values
 * ```
 */
import { InvalidArgumentError } from "@containerts/errdefs";
import { goQuote } from "../internal/go-quote.js";
import { type Filter, type FilterOperator, alwaysTrue, allOf, anyOf, createSelector } from "./filter.js";
import { QUOTE_SYNTAX_ERROR, unquote } from "./quote.js";
import { Scanner, Token } from "./scanner.js";

/** Internal: a parse failure at a position of the input. */
class ParseFailure {
  constructor(
    readonly pos: number,
    readonly msg: string,
  ) {}
}

/** Renders a parse error like Go's `parseError.Error`: `[before >|x|< after]: msg`, or `[input]: msg` at the end. */
function describe(input: string, pos: number, msg: string): string {
  if (pos < input.length) {
    const cp = input.codePointAt(pos) ?? 0;
    const end = pos + (cp > 0xffff ? 2 : 1);
    return `[${input.slice(0, pos)} >|${input.slice(pos, end)}|< ${input.slice(end)}]: ${msg}`;
  }
  return `[${input}]: ${msg}`;
}

class Parser {
  private readonly scanner: Scanner;

  constructor(private readonly input: string) {
    this.scanner = new Scanner(input);
  }

  selectors(): Filter {
    const list: Filter[] = [this.selector()];
    for (;;) {
      const tok = this.scanner.peek();
      if (tok === 0x2c) {
        const { pos, token } = this.scanner.scan();
        if (token !== Token.Separator) throw new ParseFailure(pos, "expected a separator");
        list.push(this.selector());
      } else if (tok === Token.EOF) {
        return allOf(list);
      } else {
        const text = tok < 0 ? "\ufffd" : String.fromCodePoint(tok);
        throw new ParseFailure(this.scanner.ppos, `unexpected input: ${text}`);
      }
    }
  }

  private selector(): Filter {
    const fieldpath = this.fieldpath();
    const next = this.scanner.peek();
    if (next === 0x2c || next === Token.EOF) return createSelector(fieldpath, "?");
    const op = this.operator();
    const value = this.value(op === "~=");
    return createSelector(fieldpath, op, value);
  }

  private fieldpath(): string[] {
    const fields = [this.field()];
    while (this.scanner.peek() === 0x2e) {
      const { pos, token } = this.scanner.scan();
      if (token !== Token.Separator) throw new ParseFailure(pos, "expected a field separator (`.`)");
      fields.push(this.field());
    }
    return fields;
  }

  private field(): string {
    const { pos, token, text } = this.scanner.scan();
    switch (token) {
      case Token.Field:
        return text;
      case Token.Quoted:
        return this.unquote(pos, text, false);
      case Token.Illegal:
        throw new ParseFailure(pos, this.scanner.err);
      default:
        throw new ParseFailure(pos, "expected field or quoted");
    }
  }

  private operator(): FilterOperator {
    const { pos, token, text } = this.scanner.scan();
    switch (token) {
      case Token.Operator:
        if (text === "==" || text === "!=" || text === "~=") return text;
        throw new ParseFailure(pos, `unsupported operator ${goQuote(text)}`);
      case Token.Illegal:
        throw new ParseFailure(pos, this.scanner.err);
      default:
        throw new ParseFailure(pos, 'expected an operator ("=="|"!="|"~=")');
    }
  }

  private value(allowAltQuotes: boolean): string {
    const { pos, token, text } = this.scanner.scan();
    switch (token) {
      case Token.Value:
      case Token.Field:
        return text;
      case Token.Quoted:
        return this.unquote(pos, text, allowAltQuotes);
      case Token.Illegal:
        throw new ParseFailure(pos, this.scanner.err);
      default:
        throw new ParseFailure(pos, "expected value or quoted");
    }
  }

  private unquote(pos: number, text: string, allowAlts: boolean): string {
    if (!allowAlts && text[0] !== "'" && text[0] !== '"') {
      throw new ParseFailure(pos, "invalid quote encountered");
    }
    const value = unquote(text);
    if (value === undefined) throw new ParseFailure(pos, `unquoting failed: ${QUOTE_SYNTAX_ERROR}`);
    return value;
  }
}

/**
 * Parses one filter string into a {@link Filter}: comma-separated selectors that must all match. The
 * empty string matches everything.
 *
 * @throws InvalidArgumentError `filters: parse error: [<input with >|x|< marker>]: <reason>`, worded as
 *   containerd's parser words it.
 */
export function parseFilter(filter: string): Filter {
  if (filter === "") return alwaysTrue;
  try {
    return new Parser(filter).selectors();
  } catch (err) {
    if (err instanceof ParseFailure) {
      throw new InvalidArgumentError(`filters: parse error: ${describe(filter, err.pos, err.msg)}`);
    }
    throw err;
  }
}

/**
 * Parses the filter strings of a request: the result matches what any of them matches; no strings match
 * everything.
 *
 * @throws InvalidArgumentError for the first string that does not parse (see {@link parseFilter}).
 */
export function parseFilters(filters: readonly string[]): Filter {
  if (filters.length === 0) return alwaysTrue;
  return anyOf(filters.map(parseFilter));
}

/**
 * Quotes `s` as a Go double-quoted string (`strconv.Quote`, Go's `%q`), the form the filter language accepts
 * for any field name or value: `labels.${quoteFilterString(key)}==${quoteFilterString(value)}`.
 */
export function quoteFilterString(s: string): string {
  // A literal U+FFFD is refused by the scanner ("rune error"); its escape is not.
  return goQuote(s).replaceAll("\ufffd", "\\ufffd");
}
