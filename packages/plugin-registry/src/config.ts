import { InvalidArgumentError } from "@containerts/errdefs";

/** A problem in the config file that does not stop the daemon: reported, logged, and otherwise ignored. */
export interface ConfigWarning {
  /** The plugin URI whose section holds the key, or the section name for an unknown plugin. */
  readonly plugin: string;
  /** The dotted path of the key inside the section (empty for a whole section). */
  readonly key: string;
  /** What is wrong, such as `unknown key ignored`. */
  readonly message: string;
}

/** The result of {@link mergePluginConfig}. */
export interface MergedConfig<C> {
  /** The defaults with the section merged over them; a fresh copy that shares nothing with its inputs. */
  readonly config: C;
  /** Keys of the section that the defaults do not know; they are not in `config`. */
  readonly warnings: readonly ConfigWarning[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function kindOfValue(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v instanceof Date) return "datetime";
  if (isPlainObject(v)) return "table";
  return typeof v;
}

function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (v instanceof Date) return new Date(v.getTime());
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = clone(x);
    return out;
  }
  return v;
}

/**
 * Deep-merges a plugin's config file section over its defaults, the way containerd decodes
 * `[plugins."<type>.<id>"]` into a plugin's default config struct.
 *
 * - Tables merge key by key; arrays and scalars replace the default.
 * - A key the defaults do not have is dropped and reported as a warning. An empty table default accepts
 *   any keys (it is a map, such as runtimes by name); so does a default of `null` or `undefined` for its
 *   own value.
 * - A value whose kind differs from the default's (a string where a number is expected, …) is an error.
 *
 * @param plugin - the plugin URI, used in warnings and errors.
 * @param defaults - the registration's `config` (undefined for a plugin that takes no configuration).
 * @param section - the parsed section, or undefined when the config file has none.
 * @throws InvalidArgumentError when the section is not a table or a value has the wrong kind; the message
 *   names the plugin and the key.
 */
export function mergePluginConfig<C extends object>(
  plugin: string,
  defaults: C | undefined,
  section: unknown,
): MergedConfig<C> {
  const warnings: ConfigWarning[] = [];
  const base = (defaults === undefined ? {} : clone(defaults)) as Record<string, unknown>;
  if (section === undefined) return { config: base as C, warnings };
  if (!isPlainObject(section)) {
    throw new InvalidArgumentError(`plugin ${plugin} config: section must be a table, got ${kindOfValue(section)}`);
  }
  if (defaults === undefined) {
    for (const key of Object.keys(section)) {
      warnings.push({ plugin, key, message: "unknown key ignored: the plugin takes no configuration" });
    }
    return { config: base as C, warnings };
  }

  const mergeInto = (target: Record<string, unknown>, src: Record<string, unknown>, path: string): void => {
    const open = Object.keys(target).length === 0;
    for (const [key, value] of Object.entries(src)) {
      const keyPath = path === "" ? key : `${path}.${key}`;
      if (!Object.hasOwn(target, key)) {
        if (open) target[key] = clone(value);
        else warnings.push({ plugin, key: keyPath, message: "unknown key ignored" });
        continue;
      }
      const current = target[key];
      if (current === undefined || current === null) {
        target[key] = clone(value);
        continue;
      }
      const want = kindOfValue(current);
      const got = kindOfValue(value);
      if (want !== got) {
        throw new InvalidArgumentError(`plugin ${plugin} config: key ${keyPath}: expected ${want}, got ${got}`);
      }
      if (want === "table") {
        mergeInto(current as Record<string, unknown>, value as Record<string, unknown>, keyPath);
      } else {
        target[key] = clone(value);
      }
    }
  };
  mergeInto(base, section, "");
  return { config: base as C, warnings };
}
