/**
 * Translation of Go regular expressions (RE2 syntax, as `regexp.Compile` accepts it) into JavaScript
 * `RegExp`s with the same meaning, for the `~=` filter operator.
 *
 * Handled: flags `(?imsU)` and `(?flags:…)` anywhere (a pattern-wide `i` becomes the JS `i` flag; a partial
 * one is expanded into case variants, except for `\p{…}` classes), `(?P<name>…)` (but not `(?<name>…)`, which
 * Go 1.19 rejects), quantified assertions such as `^*`, `\A`, `\z`, `\Q…\E`, `\pL`, `\p{Greek}`, `\p{^L}`,
 * POSIX classes `[[:alpha:]]`, `\x{10FFFF}`, octal escapes, RE2's ASCII `\s`, `.` not matching only `\n`,
 * `^`/`$` anchored to the text unless `m`, and repeat counts above 1000 rejected. Constructs RE2 rejects
 * (backreferences, lookaround, unknown escapes) are rejected too. Matching runs on JavaScript's
 * backtracking engine, so it is not linear-time like RE2.
 */

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

type Range = readonly [number, number];

/** Internal signal: the pattern is not valid RE2 syntax. */
class InvalidPattern {}

const MAX_RUNE = 0x10ffff;
const MAX_REPEAT = 1000;

const PERL_CLASSES: Readonly<Record<string, readonly Range[]>> = {
  d: [[0x30, 0x39]],
  s: [
    [0x09, 0x0a],
    [0x0c, 0x0d],
    [0x20, 0x20],
  ],
  w: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
};

/** `\w` under `(?i)`: Go folds the class, which adds U+017F (ſ) and U+212A (Kelvin sign). */
const WORD_FOLDED: readonly Range[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
  [0x17f, 0x17f],
  [0x212a, 0x212a],
];

const POSIX_CLASSES: Readonly<Record<string, readonly Range[]>> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

/** Go's `unicode.Categories` names (JavaScript knows them all as general categories). */
const CATEGORIES = new Set(
  "C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs".split(" "),
);

/** Case-folding orbits that toLowerCase/toUpperCase do not close on their own. */
const ORBITS: readonly (readonly number[])[] = [
  [0x4b, 0x6b, 0x212a],
  [0x53, 0x73, 0x17f],
  [0xc5, 0xe5, 0x212b],
  [0x3a3, 0x3c2, 0x3c3],
  [0x392, 0x3b2, 0x3d0],
  [0x398, 0x3b8, 0x3d1, 0x3f4],
  [0x3a6, 0x3c6, 0x3d5],
  [0x3a0, 0x3c0, 0x3d6],
  [0x39a, 0x3ba, 0x3f0],
  [0x3a1, 0x3c1, 0x3f1],
  [0x395, 0x3b5, 0x3f5],
  [0x399, 0x3b9, 0x345, 0x1fbe],
  [0x39c, 0x3bc, 0xb5],
];

/** The code points RE2's simple case folding considers equal to `cp` (including `cp`). */
function caseVariants(cp: number): number[] {
  const set = new Set<number>([cp]);
  const s = String.fromCodePoint(cp);
  for (const t of [s.toLowerCase(), s.toUpperCase(), s.toLowerCase().toUpperCase(), s.toUpperCase().toLowerCase()]) {
    const chars = [...t];
    if (chars.length === 1) set.add(chars[0]?.codePointAt(0) ?? cp);
  }
  for (const orbit of ORBITS) {
    if (orbit.some((o) => set.has(o))) for (const o of orbit) set.add(o);
  }
  return [...set];
}

/** Ranges larger than this are not enumerated for case folding. */
const FOLD_ENUMERATION_LIMIT = 4096;

/** Ranges to add to `ranges` so that the class also matches case variants (large ranges are left alone). */
function foldRanges(ranges: readonly Range[]): Range[] {
  const added: Range[] = [];
  for (const [lo, hi] of ranges) {
    if (hi - lo > FOLD_ENUMERATION_LIMIT) continue;
    for (let cp = lo; cp <= hi; cp++) {
      for (const v of caseVariants(cp)) if (v < lo || v > hi) added.push([v, v]);
    }
  }
  return added;
}

function complement(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

function esc(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) {
    return String.fromCharCode(cp);
  }
  return `\\u{${cp.toString(16)}}`;
}

function isAlnum(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
}

function isOctal(cp: number | undefined): cp is number {
  return cp !== undefined && cp >= 0x30 && cp <= 0x37;
}

function hexVal(cp: number | undefined): number {
  if (cp === undefined) return -1;
  if (cp >= 0x30 && cp <= 0x39) return cp - 0x30;
  if (cp >= 0x61 && cp <= 0x66) return cp - 0x61 + 10;
  if (cp >= 0x41 && cp <= 0x46) return cp - 0x41 + 10;
  return -1;
}

interface Translation {
  readonly source: string;
  /** Count of cased atoms under `i`. */
  readonly folded: number;
  /** Count of cased atoms not under `i`. */
  readonly unfolded: number;
}

class Translator {
  private readonly cps: number[];
  private i = 0;
  private out = "";
  private flags: Flags = { i: false, m: false, s: false, U: false };
  private readonly stack: Flags[] = [];
  folded = 0;
  unfolded = 0;
  /** Whether the last token was a repetition operator (RE2 refuses to repeat one directly: `a**`). */
  private lastWasRepeat = false;

  constructor(
    pattern: string,
    /** Expand case-insensitive atoms into explicit variants instead of relying on the JS `i` flag. */
    private readonly expand: boolean,
  ) {
    this.cps = Array.from(pattern, (c) => c.codePointAt(0) ?? 0);
  }

  private at(k: number): number | undefined {
    return this.cps[k];
  }

  private ch(s: string): number {
    return s.codePointAt(0) ?? 0;
  }

  run(): Translation {
    while (this.i < this.cps.length) this.step();
    if (this.stack.length > 0) throw new InvalidPattern(); // missing closing )
    return { source: this.out, folded: this.folded, unfolded: this.unfolded };
  }

  private step(): void {
    const wasRepeat = this.lastWasRepeat;
    this.lastWasRepeat = false;
    const c = this.cps[this.i] as number;
    switch (String.fromCodePoint(c)) {
      case "(":
        this.openGroup();
        return;
      case ")": {
        const outer = this.stack.pop();
        if (outer === undefined) throw new InvalidPattern(); // unexpected )
        this.flags = outer;
        this.out += ")";
        this.i++;
        return;
      }
      case "|":
        this.out += "|";
        this.i++;
        return;
      case "^":
        this.out += this.flags.m ? "(?:^|(?<=\\n))" : "(?:^)";
        this.i++;
        return;
      case "$":
        this.out += this.flags.m ? "(?:$|(?=\\n))" : "(?:$)";
        this.i++;
        return;
      case ".":
        this.out += this.flags.s ? "[\\s\\S]" : "[^\\n]";
        this.i++;
        return;
      case "[":
        this.charClass();
        return;
      case "*":
      case "+":
      case "?":
        if (wasRepeat) throw new InvalidPattern(); // invalid nested repetition operator
        this.i++;
        this.quantifier(String.fromCodePoint(c));
        return;
      case "{": {
        const rep = this.repeat();
        if (rep === undefined) {
          this.literal(c);
          this.i++;
        } else {
          if (wasRepeat) throw new InvalidPattern();
          this.quantifier(rep);
        }
        return;
      }
      case "\\":
        this.escape();
        return;
      default:
        this.literal(c);
        this.i++;
    }
  }

  private quantifier(q: string): void {
    let lazy = false;
    if (this.at(this.i) === 0x3f) {
      lazy = true;
      this.i++;
    }
    this.out += q + (lazy !== this.flags.U ? "?" : "");
    this.lastWasRepeat = true;
  }

  /** Parses `{n}`, `{n,}` or `{n,m}` at `i`; undefined (and nothing consumed) when it is a literal `{`. */
  private repeat(): string | undefined {
    let j = this.i + 1;
    const digits = (): string | undefined => {
      let s = "";
      while (j < this.cps.length && (this.cps[j] as number) >= 0x30 && (this.cps[j] as number) <= 0x39) {
        s += String.fromCodePoint(this.cps[j] as number);
        j++;
      }
      return s === "" ? undefined : s;
    };
    const min = digits();
    if (min === undefined) return undefined;
    let max: string | undefined = min;
    if (this.at(j) === 0x2c) {
      j++;
      max = this.at(j) === 0x7d ? "" : digits();
      if (max === undefined) return undefined;
    }
    if (this.at(j) !== 0x7d) return undefined;
    j++;
    const lo = Number(min);
    const hi = max === "" ? -1 : Number(max);
    if (lo > MAX_REPEAT || hi > MAX_REPEAT || (hi >= 0 && hi < lo)) throw new InvalidPattern();
    this.i = j;
    return max === min ? `{${lo}}` : hi < 0 ? `{${lo},}` : `{${lo},${hi}}`;
  }

  private openGroup(): void {
    if (this.at(this.i + 1) !== 0x3f) {
      this.stack.push({ ...this.flags });
      this.out += "(";
      this.i++;
      return;
    }
    let j = this.i + 2;
    // Named capture: (?P<name>…). Go 1.19, which containerd 1.6 is built with, rejects (?<name>…).
    const nameStart = this.at(j) === this.ch("P") && this.at(j + 1) === this.ch("<") ? j + 2 : -1;
    if (nameStart >= 0) {
      let k = nameStart;
      let name = "";
      while (k < this.cps.length && this.cps[k] !== this.ch(">")) {
        const cp = this.cps[k] as number;
        if (!isAlnum(cp) && cp !== 0x5f) throw new InvalidPattern();
        name += String.fromCodePoint(cp);
        k++;
      }
      if (k >= this.cps.length || name === "") throw new InvalidPattern(); // Go accepts duplicate names
      this.stack.push({ ...this.flags });
      this.out += "("; // the name is never used for matching; JS's stricter name rules need not apply
      this.i = k + 1;
      return;
    }
    // Flags: (?flags) or (?flags:…), flags from imsU, at most one '-'.
    const next: Flags = { ...this.flags };
    let sign = 1;
    let sawFlag = false;
    for (;;) {
      const c = this.at(j);
      j++;
      if (c === undefined) throw new InvalidPattern();
      const f = String.fromCodePoint(c);
      if (f === "i" || f === "m" || f === "s" || f === "U") {
        next[f] = sign > 0;
        sawFlag = true;
      } else if (f === "-") {
        if (sign < 0) throw new InvalidPattern();
        sign = -1;
        sawFlag = false;
      } else if (f === ":" || f === ")") {
        if (sign < 0 && !sawFlag) throw new InvalidPattern();
        if (f === ":") {
          this.stack.push({ ...this.flags });
          this.out += "(?:";
        }
        this.flags = next;
        this.i = j;
        return;
      } else {
        throw new InvalidPattern();
      }
    }
  }

  /** Parses a single-character escape at `i` (a backslash); returns the code point and advances. */
  private escapeChar(): number {
    const e = this.at(this.i + 1);
    if (e === undefined) throw new InvalidPattern(); // trailing backslash
    const c = String.fromCodePoint(e);
    if (c >= "1" && c <= "7" && !isOctal(this.at(this.i + 2))) throw new InvalidPattern(); // backreference
    if (c >= "0" && c <= "7") {
      let v = e - 0x30;
      let j = this.i + 2;
      for (let n = 1; n < 3 && isOctal(this.at(j)); n++, j++) v = v * 8 + ((this.at(j) as number) - 0x30);
      this.i = j;
      return v;
    }
    if (c === "x") {
      let j = this.i + 2;
      if (this.at(j) === 0x7b) {
        j++;
        let v = 0;
        let n = 0;
        while (hexVal(this.at(j)) >= 0) {
          v = v * 16 + hexVal(this.at(j));
          if (v > MAX_RUNE) throw new InvalidPattern();
          j++;
          n++;
        }
        if (n === 0 || this.at(j) !== 0x7d) throw new InvalidPattern();
        this.i = j + 1;
        return v;
      }
      const h1 = hexVal(this.at(j));
      const h2 = hexVal(this.at(j + 1));
      if (h1 < 0 || h2 < 0) throw new InvalidPattern();
      this.i = j + 2;
      return h1 * 16 + h2;
    }
    const simple: Readonly<Record<string, number>> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    const s = simple[c];
    if (s !== undefined) {
      this.i += 2;
      return s;
    }
    if (e < 0x80 && !isAlnum(e)) {
      this.i += 2;
      return e;
    }
    throw new InvalidPattern();
  }

  /** Parses `\pX`, `\p{Name}`, `\PX`, `\p{^Name}` at `i`; returns ranges or a JS property escape. */
  private unicodeClass(): { ranges: Range[] } | { item: string } {
    const negated = this.at(this.i + 1) === this.ch("P");
    let j = this.i + 2;
    const first = this.at(j);
    if (first === undefined) throw new InvalidPattern();
    let name: string;
    if (first !== 0x7b) {
      name = String.fromCodePoint(first);
      j++;
    } else {
      const end = this.cps.indexOf(0x7d, j);
      if (end < 0) throw new InvalidPattern();
      name = String.fromCodePoint(...this.cps.slice(j + 1, end));
      j = end + 1;
    }
    let neg = negated;
    if (name.startsWith("^")) {
      neg = !neg;
      name = name.slice(1);
    }
    this.i = j;
    if (name === "Any") return { ranges: neg ? [] : [[0, MAX_RUNE]] };
    const p = neg ? "\\P" : "\\p";
    if (CATEGORIES.has(name)) return { item: `${p}{${name}}` };
    if (/^[A-Za-z_]+$/.test(name)) return { item: `${p}{sc=${name}}` };
    throw new InvalidPattern();
  }

  private escape(): void {
    const e = this.at(this.i + 1);
    if (e === undefined) throw new InvalidPattern();
    const c = String.fromCodePoint(e);
    switch (c) {
      case "A":
        // The JS m flag is never set, so ^ and $ are the text's ends (lookarounds such as (?![\s\S]) would
        // also succeed between the halves of a surrogate pair in V8).
        this.out += "(?:^)";
        this.i += 2;
        return;
      case "z":
        this.out += "(?:$)";
        this.i += 2;
        return;
      case "b":
      case "B":
        // Go's \b is ASCII even under (?i), JavaScript's folds K and ſ in under the i flag: never use the flag.
        this.unfolded++;
        this.out += `(?:\\${c})`;
        this.i += 2;
        return;
      case "d":
      case "D":
        this.out += `\\${c}`;
        this.i += 2;
        return;
      case "w":
      case "W":
        // Under (?i) Go's \w also holds ſ and K (Kelvin), as JavaScript's does under the i flag.
        if (this.flags.i) this.folded++;
        else this.unfolded++;
        if (this.flags.i && this.expand) this.emitClass(WORD_FOLDED, [], c === "W", false);
        else this.out += `\\${c}`;
        this.i += 2;
        return;
      case "s":
      case "S":
        this.emitClass(PERL_CLASSES.s ?? [], [], c === "S", false);
        this.i += 2;
        return;
      case "p":
      case "P": {
        const u = this.unicodeClass();
        if ("item" in u) {
          this.emitClass([], [u.item], false, true);
        } else this.emitClass(u.ranges, [], false, false);
        return;
      }
      case "Q": {
        let j = this.i + 2;
        while (j < this.cps.length && !(this.cps[j] === 0x5c && this.cps[j + 1] === this.ch("E"))) {
          this.literal(this.cps[j] as number);
          j++;
        }
        this.i = j < this.cps.length ? j + 2 : j;
        return;
      }
      default:
        this.literal(this.escapeChar());
    }
  }

  private literal(cp: number): void {
    const variants = caseVariants(cp);
    if (variants.length > 1) {
      if (this.flags.i) this.folded++;
      else this.unfolded++;
      if (this.flags.i && this.expand) {
        this.out += `[${variants.map(esc).join("")}]`;
        return;
      }
    }
    this.out += esc(cp);
  }

  private charClass(): void {
    let j = this.i + 1;
    let negate = false;
    if (this.at(j) === this.ch("^")) {
      negate = true;
      j++;
    }
    const ranges: Range[] = [];
    const items: string[] = [];
    let first = true;
    for (;;) {
      const c = this.at(j);
      if (c === undefined) throw new InvalidPattern(); // missing ]
      if (c === this.ch("]") && !first) {
        j++;
        break;
      }
      first = false;
      if (c === this.ch("[") && this.at(j + 1) === this.ch(":")) {
        let end = -1;
        for (let k = j + 2; k + 1 < this.cps.length; k++) {
          if (this.cps[k] === this.ch(":") && this.cps[k + 1] === this.ch("]")) {
            end = k;
            break;
          }
        }
        if (end >= 0) {
          let name = String.fromCodePoint(...this.cps.slice(j + 2, end));
          const neg = name.startsWith("^");
          if (neg) name = name.slice(1);
          const cls = POSIX_CLASSES[name];
          if (cls === undefined) throw new InvalidPattern();
          ranges.push(...(neg ? complement(cls) : cls));
          j = end + 2;
          continue;
        }
      }
      if (c === 0x5c) {
        const e = String.fromCodePoint(this.at(j + 1) ?? 0);
        if (e === "p" || e === "P") {
          this.i = j;
          const u = this.unicodeClass();
          j = this.i;
          if ("item" in u) items.push(u.item);
          else ranges.push(...u.ranges);
          continue;
        }
        const lower = e.toLowerCase();
        const perl = lower === "w" && this.flags.i ? WORD_FOLDED : PERL_CLASSES[lower];
        if (perl !== undefined && "dswDSW".includes(e)) {
          ranges.push(...(e === e.toUpperCase() ? complement(perl) : perl));
          j += 2;
          continue;
        }
      }
      const lo = this.classChar(j);
      j = this.i;
      let hi = lo;
      if (this.at(j) === this.ch("-") && this.at(j + 1) !== undefined && this.at(j + 1) !== this.ch("]")) {
        hi = this.classChar(j + 1);
        j = this.i;
        if (hi < lo) throw new InvalidPattern();
      }
      ranges.push([lo, hi]);
    }
    this.i = j;
    this.emitClass(ranges, items, negate, true);
  }

  /** Reads one class character (maybe escaped) at `j`, leaving `i` after it. */
  private classChar(j: number): number {
    const c = this.at(j);
    if (c === undefined) throw new InvalidPattern();
    this.i = j;
    if (c === 0x5c) return this.escapeChar();
    this.i = j + 1;
    return c;
  }

  private emitClass(ranges: readonly Range[], items: readonly string[], negate: boolean, foldable: boolean): void {
    let all = ranges;
    let props = items;
    if (foldable) {
      const added = foldRanges(ranges);
      const large = ranges.some(([lo, hi]) => hi - lo > FOLD_ENUMERATION_LIMIT);
      if (added.length > 0 || items.length > 0 || large) {
        if (this.flags.i) this.folded++;
        else this.unfolded++;
      }
      if (this.flags.i && this.expand) {
        all = [...ranges, ...added];
        // Folding Lu, Ll or Lt gives (nearly) the cased letters; other properties are left unfolded.
        props = items.map((item) => item.replace(/^\\([pP])\{L[ult]\}$/, "\\$1{LC}"));
      }
    }
    const body = all.map(([lo, hi]) => (lo === hi ? esc(lo) : `${esc(lo)}-${esc(hi)}`)).join("") + props.join("");
    this.out += `[${negate ? "^" : ""}${body}]`;
  }
}

/**
 * Compiles a Go (RE2) regular expression into an equivalent JavaScript `RegExp` (unanchored, like Go's
 * `MatchString`); returns undefined when the pattern is not valid RE2 syntax or cannot be expressed.
 */
export function compileGoRegexp(pattern: string): RegExp | undefined {
  try {
    const plain = new Translator(pattern, false).run();
    if (plain.folded > 0 && plain.unfolded > 0) {
      return new RegExp(new Translator(pattern, true).run().source, "u");
    }
    return new RegExp(plain.source, plain.folded > 0 ? "iu" : "u");
  } catch {
    return undefined;
  }
}
