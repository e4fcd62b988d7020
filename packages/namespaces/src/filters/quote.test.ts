import { describe, expect, it } from "vitest";
import { unquote } from "./quote.js";

describe("unquote (containerd filters/quote.go)", () => {
  it("returns trivial literals as they are", () => {
    expect(unquote('"abc"')).toBe("abc");
    expect(unquote("/a.c/")).toBe("a.c");
    expect(unquote("|a/c|")).toBe("a/c");
    expect(unquote('""')).toBe("");
  });

  it("decodes Go escapes", () => {
    expect(unquote('"\\a\\b\\f\\n\\r\\t\\v\\\\"')).toBe("\u0007\b\f\n\r\t\u000b\\");
    expect(unquote('"\\x41\\101\\u00e9\\U0001F600"')).toBe("AAé😀");
    expect(unquote('"\\xc3\\xa9"')).toBe("é"); // bytes forming UTF-8
    expect(unquote('"\\xff"')).toBe("\ufffd"); // a byte that is not UTF-8
  });

  it("accepts only the delimiter among the quote escapes", () => {
    expect(unquote('"\\""')).toBe('"');
    expect(unquote("/\\//")).toBe("/");
    expect(unquote("|\\||")).toBe("|");
    expect(unquote('"\\/"')).toBeUndefined();
    expect(unquote('/\\"/')).toBeUndefined();
    expect(unquote('"\\\'"')).toBeUndefined();
  });

  it("rejects malformed literals", () => {
    expect(unquote('"')).toBeUndefined();
    expect(unquote('"abc/')).toBeUndefined();
    expect(unquote('"a\nb"')).toBeUndefined();
    expect(unquote('"a"b"')).toBeUndefined();
    expect(unquote('"\\400"')).toBeUndefined();
    expect(unquote('"\\18"')).toBeUndefined();
    expect(unquote('"\\x4"')).toBeUndefined();
    expect(unquote('"\\U00110000"')).toBeUndefined();
    expect(unquote('"\\q"')).toBeUndefined();
    expect(unquote("xabcx")).toBeUndefined();
  });

  it("supports backquotes and single-character single quotes like Go", () => {
    expect(unquote("`a\\nb`")).toBe("a\\nb");
    expect(unquote("'a'")).toBe("a");
    expect(unquote("'ab'")).toBeUndefined();
  });

  it("encodes \\u surrogates as U+FFFD, as Go's EncodeRune does", () => {
    expect(unquote('"\\ud800"')).toBe("\ufffd");
  });
});
