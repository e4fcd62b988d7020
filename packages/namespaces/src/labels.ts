/**
 * Label rules shared by every store: containerd's size limit (`labels/validate.go`), the convention that an
 * empty value deletes a label, and the `labels` / `labels.<key>` field-mask paths of Update calls.
 */
import { InvalidArgumentError } from "@containerts/errdefs";
import { goQuote } from "./internal/go-quote.js";
import { utf8Length, utf8Prefix } from "./internal/utf8.js";

/** The largest size of a label, key and value together, in bytes. */
export const MAX_LABEL_SIZE = 4096;

/**
 * Checks one label: its key and value together must take at most 4096 bytes in UTF-8.
 *
 * @throws InvalidArgumentError `label key and value greater than maximum size (4096 bytes), key: <first 10
 *   bytes of the key>`.
 */
export function validateLabel(key: string, value: string): void {
  if (utf8Length(key) + utf8Length(value) > MAX_LABEL_SIZE) {
    throw new InvalidArgumentError(
      `label key and value greater than maximum size (${MAX_LABEL_SIZE} bytes), key: ${utf8Prefix(key, 10)}`,
    );
  }
}

/**
 * Checks every label of a map with {@link validateLabel}.
 *
 * @throws InvalidArgumentError for the first label that is too large.
 */
export function validateLabels(labels: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(labels)) validateLabel(key, value);
}

/** Returns a copy of `labels` without the keys whose value is `""` (containerd stores labels that way). */
export function cleanLabels(labels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (labels === undefined) return out;
  for (const [key, value] of Object.entries(labels)) {
    if (value !== "") setOwn(out, key, value);
  }
  return out;
}

/** Sets an own property, so that a key such as `__proto__` is stored as a label rather than changing the prototype. */
function setOwn(target: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Options of {@link applyLabelPaths} beyond the prefix. */
export interface LabelPathOptions {
  /** The path naming the map: `labels` (the default), or e.g. `annotations` for image target annotations. */
  readonly prefix?: string;
  /**
   * Whether the bare prefix path (`labels`) is accepted and replaces the whole map. Default true;
   * the namespaces service accepts only `labels.<key>`.
   */
  readonly allowWhole?: boolean;
  /**
   * When true, paths that are not label paths are skipped instead of rejected: the caller handles them
   * (images and containers accept more paths than labels). A non-empty `paths` is then still a mask, even
   * when none of its paths is a label path.
   */
  readonly ignoreOtherPaths?: boolean;
  /**
   * Names the object in the error for a rejected path: `cannot update "p" field on <object>`
   * (e.g. `content info "sha256:…"`, `image "x"`). Without it the message is `cannot update "p" field`.
   */
  readonly object?: string;
}

/** True when `path` is the bare prefix (`labels`) or a key path below it (`labels.<key>`). */
export function isLabelPath(path: string, prefix = "labels"): boolean {
  return path === prefix || path.startsWith(`${prefix}.`);
}

/**
 * Applies the label paths of an Update field mask and returns the new label map, without empty values.
 *
 * With no paths, the map is replaced by `update`. Otherwise the paths apply in order: `labels` replaces the
 * whole map with `update`; `labels.<key>` (the key is everything after the first `labels.`, dots and slashes
 * included) sets `key` to `update[key]`, and deletes it when that is absent or empty. Label sizes are not
 * checked here; call {@link validateLabels} on the result where containerd validates.
 *
 * @param optionsOrPrefix the path prefix (default `labels`) or {@link LabelPathOptions}.
 * @throws InvalidArgumentError `cannot update "p" field` for a path that is not accepted.
 */
export function applyLabelPaths(
  current: Readonly<Record<string, string>>,
  update: Readonly<Record<string, string>>,
  paths: readonly string[],
  optionsOrPrefix?: string | LabelPathOptions,
): Record<string, string> {
  const options: LabelPathOptions =
    typeof optionsOrPrefix === "string" ? { prefix: optionsOrPrefix } : (optionsOrPrefix ?? {});
  const prefix = options.prefix ?? "labels";
  const allowWhole = options.allowWhole ?? true;
  if (paths.length === 0) return cleanLabels(update);

  let result: Record<string, string> = { ...current };
  for (const path of paths) {
    if (path.startsWith(`${prefix}.`)) {
      const key = path.slice(prefix.length + 1);
      const value = Object.hasOwn(update, key) ? update[key] : undefined;
      if (value === undefined || value === "") delete result[key];
      else setOwn(result, key, value);
      continue;
    }
    if (path === prefix && allowWhole) {
      result = { ...update };
      continue;
    }
    if (options.ignoreOtherPaths && path !== prefix) continue;
    const on = options.object === undefined ? "" : ` on ${options.object}`;
    throw new InvalidArgumentError(`cannot update ${goQuote(path)} field${on}`);
  }
  return cleanLabels(result);
}
