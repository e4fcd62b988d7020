import { describe, expect, it } from "vitest";
import { compileGoRegexp } from "./re2.js";

function m(pattern: string, input: string): boolean {
  const re = compileGoRegexp(pattern);
  if (re === undefined) throw new Error(`pattern ${JSON.stringify(pattern)} did not compile`);
  return re.test(input);
}

describe("compileGoRegexp", () => {
  it("matches unanchored, like Go's MatchString", () => {
    expect(m("[abc]+", "too complex, yo")).toBe(true);
    expect(m("^abc$", "xabc")).toBe(false);
    expect(m("b", "abc")).toBe(true);
    expect(m("", "")).toBe(true);
  });

  it("supports (?i) for the whole pattern and for parts of it", () => {
    expect(m("(?i)foo", "xFoO")).toBe(true);
    expect(m("(?i:a)b", "Ab")).toBe(true);
    expect(m("(?i:a)b", "AB")).toBe(false);
    expect(m("a(?i)b", "aB")).toBe(true);
    expect(m("a(?i)b", "AB")).toBe(false);
    expect(m("(?i)a(?-i)b", "Ab")).toBe(true);
    expect(m("(?i)a(?-i)b", "AB")).toBe(false);
    expect(m("x(?i:[a-c]+)y", "xAbCy")).toBe(true);
    expect(m("x(?i:[a-c]+)Y", "xAbCy")).toBe(false);
    expect(m("(?i)k", "\u212a")).toBe(true); // Kelvin sign folds to k
    expect(m("(a(?i)b)c", "aBc")).toBe(true);
    expect(m("(a(?i)b)c", "aBC")).toBe(false); // the flag ends with its group
  });

  it("keeps RE2's . ^ $ semantics and the s, m flags", () => {
    expect(m("a.b", "a\nb")).toBe(false);
    expect(m("a.b", "a\rb")).toBe(true); // only \n is excluded in RE2
    expect(m("(?s)a.b", "a\nb")).toBe(true);
    expect(m("^b", "a\nb")).toBe(false);
    expect(m("(?m)^b", "a\nb")).toBe(true);
    expect(m("a$", "a\nb")).toBe(false);
    expect(m("(?m)a$", "a\nb")).toBe(true);
    expect(m("a$", "a\n")).toBe(false); // RE2's $ does not match before a final newline
    expect(m("\\Aab\\z", "ab")).toBe(true);
    expect(m("(?m)\\Ab", "a\nb")).toBe(false);
    expect(m("(?m)a\\z", "a\nb")).toBe(false);
    expect(m("\\z\\A", "\u{1F600}")).toBe(false); // not between the halves of a surrogate pair
    expect(m("(?:\\z|x){2}", "a\u{1F600}")).toBe(true); // \\z\\z at the end
  });

  it("allows quantified assertions, as RE2 does", () => {
    expect(m("^*a", "ba")).toBe(true);
    expect(m("a$?b", "ab")).toBe(true);
    expect(m("\\A+a\\z?", "a")).toBe(true);
    expect(m("\\b*a", "ba")).toBe(true);
  });

  it("accepts duplicate group names, as Go does", () => {
    expect(m("(?P<a>x)(?P<a>y)", "xy")).toBe(true);
  });

  it("keeps \\b ASCII under (?i) while \\w folds, as in Go", () => {
    expect(m("(?i)\\b", "\u212a")).toBe(false);
    expect(m("(?i)\\bk", "\u212a")).toBe(false);
    expect(m("(?i)\\w", "\u212a")).toBe(true);
    expect(m("(?i)\\W", "\u212a")).toBe(false);
    expect(m("(?i)[\\W]", "\u017f")).toBe(false);
    expect(m("\\w", "\u212a")).toBe(false);
    expect(m("(?i:\\w)\\b", "\u212a")).toBe(false);
    expect(m("(?i:\\w)", "\u212a")).toBe(true);
  });

  it("folds property classes under (?i)", () => {
    expect(m("(?i)\\p{Lu}", "a")).toBe(true);
    expect(m("\\p{Lu}", "a")).toBe(false);
    expect(m("(?i:\\p{Lu})\\b", "a")).toBe(true); // partial (?i): expanded, not the JS flag
    expect(m("(?i:\\p{Ll})x", "Kx")).toBe(true);
  });

  it("does not fold large classes outside (?i)", () => {
    expect(m("(?i:σ)?[\\W]", "s")).toBe(false); // ſ lies in [\\W]; only a folded class would match s
  });

  it("supports the U (ungreedy) flag", () => {
    const re = compileGoRegexp("(?U)a+");
    expect(re?.exec("aaa")?.[0]).toBe("a");
    expect(compileGoRegexp("(?U)a+?")?.exec("aaa")?.[0]).toBe("aaa");
  });

  it("translates escapes and classes", () => {
    expect(m("\\d+", "x42")).toBe(true);
    expect(m("^\\s$", "\u000b")).toBe(false); // RE2's \s is [\t\n\f\r ]
    expect(m("^\\s$", "\u00a0")).toBe(false);
    expect(m("^\\s$", "\t")).toBe(true);
    expect(m("^\\S$", "\u00a0")).toBe(true);
    expect(m("^[[:alpha:]]+$", "abcXYZ")).toBe(true);
    expect(m("^[[:^digit:]]+$", "abc")).toBe(true);
    expect(m("^[[:^digit:]]+$", "a1")).toBe(false);
    expect(m("^[[:punct:]]+$", "!/:@[`{~")).toBe(true);
    expect(m("^\\pL+$", "héllo")).toBe(true);
    expect(m("^\\p{Greek}+$", "αβγ")).toBe(true);
    expect(m("^\\p{^Greek}+$", "abc")).toBe(true);
    expect(m("^\\PL$", "1")).toBe(true);
    expect(m("^[\\p{Lu}\\d]+$", "AB12")).toBe(true);
    expect(m("^\\x{1F600}$", "😀")).toBe(true);
    expect(m("^\\x41\\101$", "AA")).toBe(true);
    expect(m("^\\Qa.b*\\E$", "a.b*")).toBe(true);
    expect(m("^\\Qa.b*\\E$", "axbb")).toBe(false);
    expect(m("^\\!\\#\\-$", "!#-")).toBe(true);
    expect(m("^[]a]+$", "]a")).toBe(true);
    expect(m("^[^]a]$", "b")).toBe(true);
    expect(m("^[a-]+$", "a-")).toBe(true);
    expect(m("^a{2}$", "aa")).toBe(true);
    expect(m("^a{2,}$", "aaaa")).toBe(true);
    expect(m("^a{1,2}$", "aaa")).toBe(false);
    expect(m("^x{$", "x{")).toBe(true); // not a repeat: a literal brace
    expect(m("^x{,2}$", "x{,2}")).toBe(true);
    expect(m("^a]}$", "a]}")).toBe(true);
    expect(m("^(?P<name>a)(?P<other>b)(?:c)$", "abc")).toBe(true);
    expect(m("^(?P<1x>a)$", "a")).toBe(true); // Go accepts names JS does not
    expect(m("^.$", "😀")).toBe(true); // runes, not UTF-16 units
  });

  it("rejects what RE2 rejects", () => {
    for (const bad of [
      "[",
      "(",
      ")",
      "a(?=b)",
      "a(?!b)",
      "(?<=a)b",
      "(?<!a)b",
      "(a)\\1",
      "\\8",
      "\\Z",
      "\\C",
      "a{1001}",
      "a{2,1}",
      "(?x)a",
      "(?i-)a",
      "(?P<>x)",
      "(?<name>x)", // Go 1.19 (containerd 1.6) does not know this syntax
      "\\p{NoSuchScript}",
      "[[:nosuch:]]",
      "[z-a]",
      "\\x{110000}",
      "x\\",
      "*a",
      "a**",
      "a+???",
      "(?U)a+???",
      "a{2}*",
      "a*{2}",
    ]) {
      expect(compileGoRegexp(bad), bad).toBeUndefined();
    }
  });
});
