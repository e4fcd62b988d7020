import { describe, expect, it } from "vitest";
import { Scanner, Token } from "./scanner.js";

// containerd's filters/scanner_test.go. Positions here are UTF-16 offsets (Go counts bytes), which differ only
// in the two cases with non-ASCII input.
type Tok = { pos: number; token: number; text?: string; err?: string };

function scanAll(input: string): Tok[] {
  const sc = new Scanner(input);
  const out: Tok[] = [];
  for (let i = 0; i < 100; i++) {
    const { pos, token, text } = sc.scan();
    const t: Tok = { pos, token };
    if (text !== "") t.text = text;
    if (token === Token.Illegal) t.err = sc.err;
    out.push(t);
    if (token === Token.EOF) return out;
  }
  throw new Error("scanner did not reach EOF");
}

const { EOF, Quoted, Value, Field, Separator, Operator, Illegal } = Token;

const cases: [name: string, input: string, expected: Tok[]][] = [
  ["Field", "name", [{ pos: 0, token: Field, text: "name" }, { pos: 4, token: EOF }]],
  [
    "SelectorsWithOperators",
    "name==value,foo!=bar",
    [
      { pos: 0, token: Field, text: "name" },
      { pos: 4, token: Operator, text: "==" },
      { pos: 6, token: Value, text: "value" },
      { pos: 11, token: Separator, text: "," },
      { pos: 12, token: Field, text: "foo" },
      { pos: 15, token: Operator, text: "!=" },
      { pos: 17, token: Value, text: "bar" },
      { pos: 20, token: EOF },
    ],
  ],
  [
    "SelectorsWithFieldPaths",
    "name==value,labels.foo=value,other.bar~=match",
    [
      { pos: 0, token: Field, text: "name" },
      { pos: 4, token: Operator, text: "==" },
      { pos: 6, token: Value, text: "value" },
      { pos: 11, token: Separator, text: "," },
      { pos: 12, token: Field, text: "labels" },
      { pos: 18, token: Separator, text: "." },
      { pos: 19, token: Field, text: "foo" },
      { pos: 22, token: Operator, text: "=" },
      { pos: 23, token: Value, text: "value" },
      { pos: 28, token: Separator, text: "," },
      { pos: 29, token: Field, text: "other" },
      { pos: 34, token: Separator, text: "." },
      { pos: 35, token: Field, text: "bar" },
      { pos: 38, token: Operator, text: "~=" },
      { pos: 40, token: Value, text: "match" },
      { pos: 45, token: EOF },
    ],
  ],
  [
    "RegexpValue",
    "name~=[abc]+,foo=test",
    [
      { pos: 0, token: Field, text: "name" },
      { pos: 4, token: Operator, text: "~=" },
      { pos: 6, token: Value, text: "[abc]+" },
      { pos: 12, token: Separator, text: "," },
      { pos: 13, token: Field, text: "foo" },
      { pos: 16, token: Operator, text: "=" },
      { pos: 17, token: Value, text: "test" },
      { pos: 21, token: EOF },
    ],
  ],
  [
    "RegexpEscapedValue",
    "name~=[abc]\\+,foo=test",
    [
      { pos: 0, token: Field, text: "name" },
      { pos: 4, token: Operator, text: "~=" },
      { pos: 6, token: Value, text: "[abc]\\+" },
      { pos: 13, token: Separator, text: "," },
      { pos: 14, token: Field, text: "foo" },
      { pos: 17, token: Operator, text: "=" },
      { pos: 18, token: Value, text: "test" },
      { pos: 22, token: EOF },
    ],
  ],
  [
    "RegexpQuotedValue",
    "name~=/[abc]{0,2}/,foo=test",
    [
      { pos: 0, token: Field, text: "name" },
      { pos: 4, token: Operator, text: "~=" },
      { pos: 6, token: Quoted, text: "/[abc]{0,2}/" },
      { pos: 18, token: Separator, text: "," },
      { pos: 19, token: Field, text: "foo" },
      { pos: 22, token: Operator, text: "=" },
      { pos: 23, token: Value, text: "test" },
      { pos: 27, token: EOF },
    ],
  ],
  [
    "Cowsay",
    "name~=牛,labels.moo=true",
    [
      { pos: 0, token: Field, text: "name" },
      { pos: 4, token: Operator, text: "~=" },
      { pos: 6, token: Value, text: "牛" },
      { pos: 7, token: Separator, text: "," }, // Go: 9 (bytes)
      { pos: 8, token: Field, text: "labels" },
      { pos: 14, token: Separator, text: "." },
      { pos: 15, token: Field, text: "moo" },
      { pos: 18, token: Operator, text: "=" },
      { pos: 19, token: Value, text: "true" },
      { pos: 23, token: EOF },
    ],
  ],
  [
    "CowsayRegexpQuoted",
    "name~=|牛|,labels.moo=true",
    [
      { pos: 0, token: Field, text: "name" },
      { pos: 4, token: Operator, text: "~=" },
      { pos: 6, token: Quoted, text: "|牛|" },
      { pos: 9, token: Separator, text: "," }, // Go: 11 (bytes)
      { pos: 10, token: Field, text: "labels" },
      { pos: 16, token: Separator, text: "." },
      { pos: 17, token: Field, text: "moo" },
      { pos: 20, token: Operator, text: "=" },
      { pos: 21, token: Value, text: "true" },
      { pos: 25, token: EOF },
    ],
  ],
  [
    "Escapes",
    'name~="asdf\\n\\tfooo"',
    [
      { pos: 0, token: Field, text: "name" },
      { pos: 4, token: Operator, text: "~=" },
      { pos: 6, token: Quoted, text: '"asdf\\n\\tfooo"' },
      { pos: 20, token: EOF },
    ],
  ],
  [
    "NullInput",
    "foo\u0000bar",
    [
      { pos: 0, token: Field, text: "foo" },
      { pos: 3, token: Illegal, err: "unexpected null" },
      { pos: 4, token: Field, text: "bar" },
      { pos: 7, token: EOF },
    ],
  ],
  [
    "SpacesChomped",
    "foo = bar    ",
    [
      { pos: 0, token: Field, text: "foo" },
      { pos: 4, token: Operator, text: "=" },
      { pos: 6, token: Value, text: "bar" },
      { pos: 13, token: EOF },
    ],
  ],
  [
    "ValuesPunctuated",
    "compound.labels==punctuated_value.foo-bar",
    [
      { pos: 0, token: Field, text: "compound" },
      { pos: 8, token: Separator, text: "." },
      { pos: 9, token: Field, text: "labels" },
      { pos: 15, token: Operator, text: "==" },
      { pos: 17, token: Value, text: "punctuated_value.foo-bar" },
      { pos: 41, token: EOF },
    ],
  ],
  [
    "PartialInput",
    "interrupted=",
    [
      { pos: 0, token: Field, text: "interrupted" },
      { pos: 11, token: Operator, text: "=" },
      { pos: 12, token: EOF },
    ],
  ],
  [
    "DoubleValue",
    "doublevalue=value value",
    [
      { pos: 0, token: Field, text: "doublevalue" },
      { pos: 11, token: Operator, text: "=" },
      { pos: 12, token: Value, text: "value" },
      { pos: 18, token: Field, text: "value" },
      { pos: 23, token: EOF },
    ],
  ],
  [
    "LeadingWithQuoted",
    '"leading quote".postquote==value',
    [
      { pos: 0, token: Quoted, text: '"leading quote"' },
      { pos: 15, token: Separator, text: "." },
      { pos: 16, token: Field, text: "postquote" },
      { pos: 25, token: Operator, text: "==" },
      { pos: 27, token: Value, text: "value" },
      { pos: 32, token: EOF },
    ],
  ],
  [
    "MissingValue",
    "input==,id!=ff",
    [
      { pos: 0, token: Field, text: "input" },
      { pos: 5, token: Operator, text: "==" },
      { pos: 7, token: Separator, text: "," },
      { pos: 8, token: Field, text: "id" },
      { pos: 10, token: Operator, text: "!=" },
      { pos: 12, token: Value, text: "ff" },
      { pos: 14, token: EOF },
    ],
  ],
  [
    "QuotedRegexp",
    "input~=/foo\\/bar/,id!=ff",
    [
      { pos: 0, token: Field, text: "input" },
      { pos: 5, token: Operator, text: "~=" },
      { pos: 7, token: Quoted, text: "/foo\\/bar/" },
      { pos: 17, token: Separator, text: "," },
      { pos: 18, token: Field, text: "id" },
      { pos: 20, token: Operator, text: "!=" },
      { pos: 22, token: Value, text: "ff" },
      { pos: 24, token: EOF },
    ],
  ],
  [
    "QuotedRegexpAlt",
    "input~=|foo/bar|,id!=ff",
    [
      { pos: 0, token: Field, text: "input" },
      { pos: 5, token: Operator, text: "~=" },
      { pos: 7, token: Quoted, text: "|foo/bar|" },
      { pos: 16, token: Separator, text: "," },
      { pos: 17, token: Field, text: "id" },
      { pos: 19, token: Operator, text: "!=" },
      { pos: 21, token: Value, text: "ff" },
      { pos: 23, token: EOF },
    ],
  ],
  [
    "IllegalQuoted",
    "labels.containerd.io/key==value",
    [
      { pos: 0, token: Field, text: "labels" },
      { pos: 6, token: Separator, text: "." },
      { pos: 7, token: Field, text: "containerd" },
      { pos: 17, token: Separator, text: "." },
      { pos: 18, token: Field, text: "io" },
      { pos: 20, token: Illegal, text: "/key==value", err: "quoted literal not terminated" },
      { pos: 31, token: EOF },
    ],
  ],
  [
    "IllegalQuotedWithNewLine",
    'labels."containerd.io\nkey"==value',
    [
      { pos: 0, token: Field, text: "labels" },
      { pos: 6, token: Separator, text: "." },
      { pos: 7, token: Illegal, text: '"containerd.io\n', err: "quoted literal not terminated" },
      { pos: 22, token: Field, text: "key" },
      { pos: 25, token: Illegal, text: '"==value', err: "quoted literal not terminated" },
      { pos: 33, token: EOF },
    ],
  ],
  [
    "IllegalEscapeSequence",
    'labels."\\g"',
    [
      { pos: 0, token: Field, text: "labels" },
      { pos: 6, token: Separator, text: "." },
      { pos: 7, token: Illegal, text: '"\\g"', err: "illegal escape sequence" },
      { pos: 11, token: EOF },
    ],
  ],
  [
    "IllegalNumericEscapeSequence",
    'labels."\\xaz"',
    [
      { pos: 0, token: Field, text: "labels" },
      { pos: 6, token: Separator, text: "." },
      { pos: 7, token: Illegal, text: '"\\xaz"', err: "illegal numeric escape sequence" },
      { pos: 13, token: EOF },
    ],
  ],
];

describe("scanner (containerd filters/scanner_test.go)", () => {
  for (const [name, input, expected] of cases) {
    it(name, () => expect(scanAll(input)).toEqual(expected));
  }

  it("reports U+FFFD and lone surrogates as rune errors", () => {
    expect(scanAll("a\ufffd")).toEqual([
      { pos: 0, token: Field, text: "a" },
      { pos: 1, token: Illegal, err: "rune error" },
      { pos: 2, token: EOF },
    ]);
    expect(scanAll("\ud800")[0]).toEqual({ pos: 0, token: Illegal, err: "rune error" });
  });

  it("returns an unexpected rune as its own code point", () => {
    expect(scanAll("?")).toEqual([{ pos: 0, token: 0x3f }, { pos: 1, token: EOF }]);
  });

  it("accepts octal, \\u and \\U escapes and the escaped delimiter", () => {
    expect(scanAll('"\\101\\u00e9\\U0001F600\\""')[0]).toEqual({
      pos: 0,
      token: Quoted,
      text: '"\\101\\u00e9\\U0001F600\\""',
    });
    expect(scanAll("|a\\|b|")[0]).toEqual({ pos: 0, token: Quoted, text: "|a\\|b|" });
    expect(scanAll('|a\\"b|')[0]).toMatchObject({ token: Illegal, err: "illegal escape sequence" });
  });
});
