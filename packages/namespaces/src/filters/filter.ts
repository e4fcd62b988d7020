/**
 * Filters and adaptors: the matching half of containerd's filter language (`filters/filter.go`,
 * `filters/adaptor.go`).
 */
import { compileGoRegexp } from "./re2.js";

/**
 * Gives a filter access to an object's fields. `field` returns the value at a field path, or undefined when
 * the object has no such field ("not present"). It must not throw.
 */
export interface Adaptor {
  field(fieldpath: readonly string[]): string | undefined;
}

/** A predicate over objects seen through an {@link Adaptor}. `match` never throws. */
export interface Filter {
  match(adaptor: Adaptor): boolean;
}

/** The filter that matches everything (what `""` and an empty filter list parse to). */
export const alwaysTrue: Filter = Object.freeze({ match: () => true });

/** A filter matching when any of `filters` matches (none: matches nothing), containerd's `filters.Any`. */
export function anyOf(filters: readonly Filter[]): Filter {
  const list = [...filters];
  return Object.freeze({ match: (a: Adaptor) => list.some((f) => f.match(a)) });
}

/** A filter matching when all of `filters` match (none: matches everything), containerd's `filters.All`. */
export function allOf(filters: readonly Filter[]): Filter {
  const list = [...filters];
  return Object.freeze({ match: (a: Adaptor) => list.every((f) => f.match(a)) });
}

/** The operators of a selector; `?` is "field present". */
export type FilterOperator = "?" | "==" | "!=" | "~=";

/** One parsed selector, `fieldpath [operator value]`. */
export interface Selector extends Filter {
  readonly fieldpath: readonly string[];
  readonly operator: FilterOperator;
  readonly value: string;
}

/**
 * Creates a selector with containerd's semantics: `?` field present; `==` present and equal; `!=` value
 * differs, an absent field counting as `""`; `~=` the Go regular expression matches anywhere in the value
 * (absent counts as `""`), compiled on first use, and an invalid expression matches nothing.
 */
export function createSelector(fieldpath: readonly string[], operator: FilterOperator, value = ""): Selector {
  const path = Object.freeze([...fieldpath]);
  let re: RegExp | null | undefined; // undefined: not compiled yet; null: invalid
  const match = (adaptor: Adaptor): boolean => {
    const v = adaptor.field(path);
    switch (operator) {
      case "?":
        return v !== undefined;
      case "==":
        return v !== undefined && v === value;
      case "!=":
        return (v ?? "") !== value;
      case "~=":
        if (re === undefined) re = compileGoRegexp(value) ?? null;
        return re !== null && re.test(v ?? "");
    }
  };
  return Object.freeze({ fieldpath: path, operator, value, match });
}

function lookup<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * Creates an adaptor over plain fields and label-like maps, shaped like containerd's own adaptors.
 *
 * - A path whose first element names a map (`maps.labels`) looks up the rest of the path joined by `.`
 *   (`labels."a.b".c` → key `a.b.c`); an absent or empty map has no fields.
 * - Otherwise the longest prefix of the path, joined by `.`, that is a key of `fields` gives the value, so
 *   `fields["runtime.name"]` serves `runtime.name`, and, as in containerd, `id.x` falls back to `id`.
 * - A value of undefined means "not present"; `""` is present and empty. Most containerd adaptors treat an
 *   empty value as absent: pass `value || undefined` to get that.
 */
export function adaptFields(
  fields: Readonly<Record<string, string | undefined>>,
  maps?: Readonly<Record<string, Readonly<Record<string, string>> | undefined>>,
): Adaptor {
  return {
    field(fieldpath: readonly string[]): string | undefined {
      const head = fieldpath[0];
      if (head === undefined) return undefined;
      if (maps !== undefined && Object.hasOwn(maps, head)) {
        const m = maps[head];
        if (m === undefined || Object.keys(m).length === 0) return undefined;
        return lookup(m, fieldpath.slice(1).join("."));
      }
      for (let n = fieldpath.length; n > 0; n--) {
        const key = fieldpath.slice(0, n).join(".");
        if (Object.hasOwn(fields, key)) return fields[key];
      }
      return undefined;
    },
  };
}

/**
 * Combines adaptors: a path whose first element is a key of `prefixed` goes to that adaptor with the rest
 * of the path (`event.id` → `prefixed.event.field(["id"])`); every other path goes to `base`.
 */
export function adaptPrefix(base: Adaptor, prefixed: Readonly<Record<string, Adaptor>>): Adaptor {
  return {
    field(fieldpath: readonly string[]): string | undefined {
      const head = fieldpath[0];
      const inner = head === undefined ? undefined : lookup(prefixed, head);
      return inner !== undefined ? inner.field(fieldpath.slice(1)) : base.field(fieldpath);
    },
  };
}
