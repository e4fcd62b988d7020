import { isInvalidArgument } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";
import { type Adaptor, adaptFields } from "./filter.js";
import { parseFilter, parseFilters, quoteFilterString } from "./parser.js";

// The corpus of containerd's filters/filter_test.go, seen through an adaptor shaped like the Go test's.
interface Entry {
  name: string;
  other?: string;
  labels?: Record<string, string>;
}

const corpus: Entry[] = [
  { name: "foo", labels: { foo: "true" } },
  { name: "bar" },
  { name: "foo", labels: { foo: "present", "more complex label": "present" } },
  { name: "bar", labels: { bar: "true" } },
  { name: "fooer", labels: { 'more complex label with \\ and "': "present" } },
  { name: "fooer", labels: { 'more complex label with \\ and ".post': "present" } },
  { name: "baz", other: "too complex, yo" },
  { name: "bazo", other: "abc" },
  { name: "compound", labels: { foo: "omg_asdf.asdf-qwer" } },
];

const adapt = (e: Entry): Adaptor => ({
  field(path) {
    switch (path[0]) {
      case "name":
        return e.name.length > 0 ? e.name : undefined;
      case "other":
        return e.other !== undefined && e.other.length > 0 ? e.other : undefined;
      case "labels": {
        const key = path.slice(1).join(".");
        return e.labels !== undefined && Object.hasOwn(e.labels, key) ? e.labels[key] : undefined;
      }
      default:
        return undefined;
    }
  },
});

function matching(input: string): number[] {
  const filter = parseFilter(input);
  return corpus.flatMap((e, i) => (filter.match(adapt(e)) ? [i] : []));
}

function parseError(input: string): string {
  try {
    parseFilter(input);
  } catch (err) {
    expect(isInvalidArgument(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(input)} to fail`);
}

describe("filter matching (containerd filters/filter_test.go)", () => {
  const cases: [name: string, input: string, expected: number[]][] = [
    ["Empty", "", [0, 1, 2, 3, 4, 5, 6, 7, 8]],
    ["Present", "name", [0, 1, 2, 3, 4, 5, 6, 7, 8]],
    ["LabelPresent", "labels.foo", [0, 2, 8]],
    ["NameAndLabelPresent", "labels.foo,name", [0, 2, 8]],
    ["LabelValue", "labels.foo==true", [0]],
    ["LabelValuePunctuated", "labels.foo==omg_asdf.asdf-qwer", [8]],
    ["Name", "name==bar", [1, 3]],
    ["NameNotEqual", "name!=bar", [0, 2, 4, 5, 6, 7, 8]],
    ["NameAndLabelPresent2", "name==bar,labels.bar", [3]],
    ["QuotedValue", 'other=="too complex, yo"', [6]],
    ["RegexpValue", "other~=[abc]+,name!=foo", [6, 7]],
    ["RegexpQuotedValue", "other~=/[abc]+/,name!=foo", [6, 7]],
    ["RegexpQuotedValueBraces", "other~=/[abc]{1,2}/,name!=foo", [6, 7]],
    ["RegexpQuotedValueGarbage", 'other~=/[abc]{0,1}"\\//,name!=foo', []],
    ["NameAndLabelValue", "name==bar,labels.bar==true", [3]],
    ["NameAndLabelValueNoMatch", "name==bar,labels.bar==wrong", []],
    ["LabelQuotedFieldPathPresent", 'name==foo,labels."more complex label"', [2]],
    ["LabelQuotedFieldPathPresentWithQuoted", 'labels."more complex label with \\\\ and \\""==present', [4]],
    ["LabelQuotedFieldPathPresentWithQuotedEmbed", 'labels."more complex label with \\\\ and \\"".post==present', [5]],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => expect(matching(input)).toEqual(expected));
  }
});

describe("filter parse errors (containerd filters/filter_test.go)", () => {
  const cases: [name: string, input: string, message: string][] = [
    [
      "LabelValueNoAltQuoting",
      "labels.|foo|==omg_asdf.asdf-qwer",
      "filters: parse error: [labels. >|||< foo|==omg_asdf.asdf-qwer]: invalid quote encountered",
    ],
    [
      "LabelQuotedFieldPathPresentWithQuotedEmbedInvalid",
      'labels.?"more complex label with \\\\ and \\"".post==present',
      'filters: parse error: [labels. >|?|< "more complex label with \\\\ and \\"".post==present]: expected field or quoted',
    ],
    ["TrailingComma", "name==foo,", "filters: parse error: [name==foo,]: expected field or quoted"],
    ["TrailingFieldSeparator", "labels.", "filters: parse error: [labels.]: expected field or quoted"],
    [
      "MissingValue",
      "image~=,id?=?fbaq",
      "filters: parse error: [image~= >|,|< id?=?fbaq]: expected value or quoted",
    ],
    [
      "FieldQuotedLiteralNotTerminated",
      "labels.ns/key==value",
      "filters: parse error: [labels.ns >|/|< key==value]: quoted literal not terminated",
    ],
    [
      "ValueQuotedLiteralNotTerminated",
      "labels.key==/value",
      "filters: parse error: [labels.key== >|/|< value]: quoted literal not terminated",
    ],
  ];
  for (const [name, input, message] of cases) {
    it(name, () => expect(parseError(input)).toBe(`${message}: invalid argument`));
  }
});

describe("filter grammar details", () => {
  const item = adaptFields({ id: "abc", topic: "/tasks/exit", empty: "" }, { labels: { "containerd.io/gc.root": "x" } });
  const matches = (f: string) => parseFilter(f).match(item);

  it("ignores white space between tokens", () => {
    expect(matches(' id == abc,  topic=="/tasks/exit"')).toBe(true);
    expect(matches('labels. "containerd.io/gc.root"')).toBe(true);
    // the field separator must follow the field directly, as in containerd
    expect(() => parseFilter('labels ."containerd.io/gc.root"')).toThrow(/expected an operator/);
  });

  it("refuses white space right before a comma or at the end, like containerd", () => {
    expect(parseError("id==abc ,id")).toBe("filters: parse error: [id==abc >| |< ,id]: unexpected input:  : invalid argument");
    expect(parseError("id==abc ")).toBe("filters: parse error: [id==abc >| |< ]: unexpected input:  : invalid argument");
  });

  it("rejects a topic value that starts with / unless it is double-quoted", () => {
    expect(parseError("topic==/tasks/exit")).toBe(
      "filters: parse error: [topic== >|/|< tasks/exit]: invalid quote encountered: invalid argument",
    );
    expect(matches('topic=="/tasks/exit"')).toBe(true);
  });

  it("accepts bare values containing . : / = and quotes after the first character", () => {
    const x = adaptFields({ v: "a.b:c/d=e!f~g\"h'" });
    expect(parseFilter("v==a.b:c/d=e!f~g\"h'").match(x)).toBe(true);
  });

  it("requires quoting for values beginning with . , = ! ~", () => {
    for (const v of [".x", "=x", "!x", "~x"]) {
      expect(() => parseFilter(`id==${v}`)).toThrow(/filters: parse error/);
      expect(parseFilter(`id==${quoteFilterString(v)}`).match(adaptFields({ id: v }))).toBe(true);
    }
    expect(parseError("id==,x")).toBe("filters: parse error: [id== >|,|< x]: expected value or quoted: invalid argument");
    // ".x" is a separator token: containerd reports "expected value or quoted"
    expect(parseError("id==.x")).toBe("filters: parse error: [id== >|.|< x]: expected value or quoted: invalid argument");
  });

  it("accepts /…/ and |…| only for ~=", () => {
    expect(matches("id~=/^a.c$/")).toBe(true);
    expect(matches("id~=|^a.c$|")).toBe(true);
    expect(parseError("id==|abc|")).toBe("filters: parse error: [id== >|||< abc|]: invalid quote encountered: invalid argument");
    expect(parseError("id!=/abc/")).toBe("filters: parse error: [id!= >|/|< abc/]: invalid quote encountered: invalid argument");
  });

  it("does not treat single quotes as quotes", () => {
    expect(parseFilter("id=='abc'").match(adaptFields({ id: "'abc'" }))).toBe(true);
    expect(parseError("'id'==x")).toBe("filters: parse error: [ >|'|< id'==x]: expected field or quoted: invalid argument");
  });

  it("reports operator errors", () => {
    expect(parseError("id=x")).toBe('filters: parse error: [id >|=|< x]: unsupported operator "=": invalid argument');
    expect(parseError("id===x")).toBe('filters: parse error: [id >|=|< ==x]: unsupported operator "===": invalid argument');
    expect(parseError("id x")).toBe(
      'filters: parse error: [id  >|x|< ]: expected an operator ("=="|"!="|"~="): invalid argument',
    );
    expect(parseError("id ")).toBe('filters: parse error: [id ]: expected an operator ("=="|"!="|"~="): invalid argument');
    expect(parseError("id==")).toBe("filters: parse error: [id==]: expected value or quoted: invalid argument");
  });

  it("reports unexpected input after a value", () => {
    expect(parseError('id=="abc"x')).toBe("filters: parse error: [id==\"abc\" >|x|< ]: unexpected input: x: invalid argument");
  });

  it("reports scanner errors", () => {
    expect(parseError('labels."\\g"')).toBe(
      'filters: parse error: [labels. >|"|< \\g"]: illegal escape sequence: invalid argument',
    );
    expect(parseError('labels."\\xaz"')).toBe(
      'filters: parse error: [labels. >|"|< \\xaz"]: illegal numeric escape sequence: invalid argument',
    );
    expect(parseError("id\u0000")).toBe("filters: parse error: [id >|\u0000|< ]: unexpected null: invalid argument");
    expect(parseError('id=="\\400"')).toBe(
      'filters: parse error: [id== >|"|< \\400"]: unquoting failed: quote syntax error: invalid argument',
    );
  });

  it("white space only is a parse error, the empty string is not", () => {
    expect(parseError(" ")).toBe("filters: parse error: [ ]: expected field or quoted: invalid argument");
    expect(parseFilter("").match(adaptFields({}))).toBe(true);
  });

  it("unquotes Go escapes in fields and values", () => {
    const x = adaptFields({}, { labels: { "a\tb": "é\n☃" } });
    expect(parseFilter('labels."a\\tb"=="\\u00e9\\n\\u2603"').match(x)).toBe(true);
    expect(parseFilter('labels."a\\x09b"=="\\xc3\\xa9\\012\\U00002603"').match(x)).toBe(true);
  });

  it("!= is true for an absent field unless the value is empty", () => {
    expect(parseFilter("missing!=x").match(item)).toBe(true);
    expect(parseFilter('missing!=""').match(item)).toBe(false);
    expect(parseFilter('empty==""').match(item)).toBe(true);
    expect(parseFilter('missing==""').match(item)).toBe(false);
    expect(parseFilter("empty").match(item)).toBe(true);
    expect(parseFilter("missing").match(item)).toBe(false);
  });

  it("~= applies to the empty string when the field is absent", () => {
    expect(parseFilter("missing~=/^$/").match(item)).toBe(true);
    expect(parseFilter("missing~=x").match(item)).toBe(false);
  });

  it("an invalid regexp parses but matches nothing", () => {
    expect(parseFilter("id~=[").match(item)).toBe(false);
    expect(parseFilter("id~=(?=a)").match(item)).toBe(false);
    expect(parseFilter("id!=[").match(item)).toBe(true);
  });

  it("marks non-ASCII error positions by whole characters", () => {
    expect(parseError("labels.é")).toBe("filters: parse error: [labels. >|é|< ]: expected field or quoted: invalid argument");
    expect(parseError("labels.😀x")).toBe("filters: parse error: [labels. >|😀|< x]: expected field or quoted: invalid argument");
  });

  it("accepts non-ASCII bare values", () => {
    expect(parseFilter("name~=牛,labels.moo==true").match(adaptFields({ name: "一牛" }, { labels: { moo: "true" } }))).toBe(
      true,
    );
  });
});

describe("parseFilters", () => {
  const a = adaptFields({ id: "a" });
  const b = adaptFields({ id: "b" });

  it("matches everything with no filter strings", () => {
    expect(parseFilters([]).match(a)).toBe(true);
  });

  it("treats an empty string as always true", () => {
    expect(parseFilters([""]).match(b)).toBe(true);
    expect(parseFilters(["id==a", ""]).match(b)).toBe(true);
  });

  it("ORs the strings", () => {
    const f = parseFilters(["id==a", "id==c"]);
    expect(f.match(a)).toBe(true);
    expect(f.match(b)).toBe(false);
  });

  it("fails on the first bad string with InvalidArgument", () => {
    expect(() => parseFilters(["id==a", "id=="])).toThrow(
      "filters: parse error: [id==]: expected value or quoted: invalid argument",
    );
  });

  it("parses the filter the Go client sends for snapshotter platforms", () => {
    const f = parseFilters(["type==io.containerd.snapshotter.v1, id==overlayfs"]);
    expect(f.match(adaptFields({ type: "io.containerd.snapshotter.v1", id: "overlayfs" }))).toBe(true);
    expect(f.match(adaptFields({ type: "io.containerd.snapshotter.v1", id: "native" }))).toBe(false);
  });
});

describe("quoteFilterString", () => {
  it("quotes like Go's %q and round-trips through the parser", () => {
    expect(quoteFilterString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quoteFilterString("\u0001\n\u007f\u00a0é")).toBe('"\\x01\\n\\x7f\\u00a0é"');
    for (const key of ["containerd.io/gc.root", 'we"ird\\key', "tab\there", "uni☃😀", "nul\u0000", "rep\ufffd"]) {
      const f = parseFilter(`labels.${quoteFilterString(key)}==${quoteFilterString(key)}`);
      expect(f.match(adaptFields({}, { labels: { [key]: key } }))).toBe(true);
    }
  });
});
