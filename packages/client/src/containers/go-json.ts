/**
 * JSON as Go's `encoding/json` writes it, for output that must match containerd's Go tools byte for byte:
 * `<`, `>`, `&`, U+2028 and U+2029 escaped inside strings, bigints written as exact integers, and
 * `json.MarshalIndent`'s layout. No I/O.
 */

/** A value {@link goJson} can write: JSON values plus bigints (exact integers). */
export type GoJsonValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | readonly GoJsonValue[]
  | { readonly [key: string]: GoJsonValue | undefined };

/** A JSON string literal with Go's HTML-safe escapes. */
export function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Writes `value` as Go's `json.Marshal` (no `indent`) or `json.MarshalIndent(value, "", indent)` would.
 * Object keys keep their order; `undefined` members are left out (Go's `omitempty` is the caller's
 * business: drop what Go would omit before calling). An empty object or array stays `{}` / `[]`.
 */
export function goJson(value: GoJsonValue, indent = ""): string {
  return write(value, indent, "");
}

function write(v: GoJsonValue, indent: string, prefix: string): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return goString(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "true" : "false";
    case "number":
      return Number.isFinite(v) ? formatNumber(v) : "null";
  }
  const inner = prefix + indent;
  const nl = indent === "" ? "" : `\n${inner}`;
  const end = indent === "" ? "" : `\n${prefix}`;
  const colon = indent === "" ? ":" : ": ";
  if (Array.isArray(v)) {
    const items = (v as readonly GoJsonValue[]).map((x) => write(x, indent, inner));
    return items.length === 0 ? "[]" : `[${nl}${items.join(`,${nl}`)}${end}]`;
  }
  const members: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, GoJsonValue | undefined>)) {
    if (x === undefined) continue;
    members.push(`${goString(k)}${colon}${write(x, indent, inner)}`);
  }
  return members.length === 0 ? "{}" : `{${nl}${members.join(`,${nl}`)}${end}}`;
}

/** Go writes floats without exponent up to 1e21, like JavaScript; integers are what we meet in practice. */
function formatNumber(n: number): string {
  return String(n);
}

/**
 * Go's `time.Time` JSON form (RFC 3339 with up to nine fraction digits, trailing zeros trimmed) of an
 * instant given as Unix seconds and nanoseconds, in UTC.
 */
export function goTimeJson(seconds: bigint, nanos: number): string {
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  const frac = nanos === 0 ? "" : `.${String(nanos).padStart(9, "0").replace(/0+$/, "")}`;
  return `${base}${frac}Z`;
}

/**
 * Go's `time.Time.String()` of an instant in UTC (`2006-01-02 15:04:05.999999999 +0000 UTC`), as ctr
 * prints event and metric timestamps. `nanos` are the nanoseconds within the second.
 */
export function goTimeString(date: Date, nanosWithinMs = 0): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const nanos = date.getUTCMilliseconds() * 1_000_000 + nanosWithinMs;
  const frac = nanos === 0 ? "" : `.${String(nanos).padStart(9, "0").replace(/0+$/, "")}`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac} +0000 UTC`;
}
