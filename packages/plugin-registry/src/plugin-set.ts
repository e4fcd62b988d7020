import { type ContainertsError, UnknownError, withContext } from "@containerts/errdefs";
import type { ConfigWarning } from "./config.js";
import type { PluginMeta, PluginPlatform } from "./init-context.js";
import type { Logger } from "./logger.js";
import type { AnyRegistration } from "./registration.js";

/** How a plugin's init ended: `ok`, skipped itself (`skip`), or failed (`error`). */
export type PluginStatus = "ok" | "skip" | "error";

/** The metadata of an initialized plugin, as kept in its result (read-only). */
export interface PluginResultMeta {
  /** Values the plugin exported. */
  readonly exports: Readonly<Record<string, string>>;
  /** Feature switches the plugin declared. */
  readonly capabilities: readonly string[];
  /** Platforms the plugin declared. */
  readonly platforms: readonly PluginPlatform[];
}

/** The fields every plugin result has. */
interface PluginResultBase {
  /** The registration, as initialized. */
  readonly registration: AnyRegistration;
  /** `<type>.<id>`. */
  readonly uri: string;
  /** The plugin type. */
  readonly type: string;
  /** The plugin id. */
  readonly id: string;
  /** The required plugin types, as registered (introspection's `requires`). */
  readonly requires: readonly string[];
  /** The configuration the plugin was given (defaults merged with its config file section). */
  readonly config: unknown;
  /** What the plugin reported about itself during init (kept when init fails, too). */
  readonly meta: PluginResultMeta;
}

/** A plugin that initialized: its instance is available to later plugins. */
export interface PluginOk extends PluginResultBase {
  /** Always `"ok"`. */
  readonly status: "ok";
  /** What `init` resolved to. */
  readonly instance: unknown;
  /** Never set for an ok plugin. */
  readonly error?: undefined;
}

/** A plugin that skipped itself or failed; `error` says why. */
export interface PluginNotOk extends PluginResultBase {
  /** `"skip"` when init threw a {@link SkipPluginError}, else `"error"`. */
  readonly status: "skip" | "error";
  /** Never set for a plugin that did not initialize. */
  readonly instance?: undefined;
  /** The init error: a {@link SkipPluginError} for `skip`, any other (normalized) error for `error`. */
  readonly error: ContainertsError;
}

/** The outcome of one plugin's init, in the form introspection lists it. */
export type PluginResult = PluginOk | PluginNotOk;

/**
 * A read-only view of initialized plugins, in init order: the results of `initPlugins`, or the plugins
 * initialized so far as seen from an `InitContext`.
 */
export interface ReadonlyPluginSet extends Iterable<PluginResult> {
  /** Every result (ok, skipped and failed), in init order. */
  readonly results: readonly PluginResult[];
  /** The number of results. */
  readonly size: number;
  /** The result of `<type>.<id>`, if that plugin was initialized. */
  get(type: string, id: string): PluginResult | undefined;
  /** The result of the plugin with the given URI, if it was initialized. */
  getByUri(pluginUri: string): PluginResult | undefined;
  /** The results of every plugin of `type`, in init order. */
  ofType(type: string): readonly PluginResult[];
}

/**
 * The plugins of a daemon after `initPlugins`: every result in init order, the config warnings, and
 * `close()` for shutdown.
 */
export interface PluginSet extends ReadonlyPluginSet {
  /** Config file problems found while initializing (unknown keys, sections for unknown plugins). */
  readonly warnings: readonly ConfigWarning[];
  /**
   * Closes the instances of the initialized plugins, in reverse init order: each instance that has
   * `[Symbol.asyncDispose]()`, else `close()`, else `[Symbol.dispose]()`, is closed once (an instance shared
   * by several plugins is closed once, at its last position). Every instance is tried even when one fails.
   * Calling it again returns the first call's promise.
   *
   * @throws the error of the failing close, with the plugin URI as context; several failures are reported
   *   together as an UnknownError whose cause is an AggregateError.
   */
  close(): Promise<void>;
}

type CloseFn = () => unknown;

function closerOf(instance: unknown): CloseFn | undefined {
  if ((typeof instance !== "object" && typeof instance !== "function") || instance === null) return undefined;
  const o = instance as Record<PropertyKey, unknown>;
  for (const key of [Symbol.asyncDispose, "close", Symbol.dispose] as const) {
    const fn = o[key];
    if (typeof fn === "function") return () => (fn as (this: unknown) => unknown).call(instance);
  }
  return undefined;
}

/** The registry's implementation of {@link PluginSet}; internal, built by `initPlugins`. */
export class MutablePluginSet implements PluginSet {
  readonly #results: PluginResult[] = [];
  readonly #byUri = new Map<string, PluginResult>();
  readonly #byType = new Map<string, PluginResult[]>();
  readonly #warnings: ConfigWarning[] = [];
  readonly #log: Logger;
  #closing: Promise<void> | undefined;

  constructor(log: Logger) {
    this.#log = log;
  }

  get results(): readonly PluginResult[] {
    return this.#results;
  }

  get size(): number {
    return this.#results.length;
  }

  get warnings(): readonly ConfigWarning[] {
    return this.#warnings;
  }

  [Symbol.iterator](): Iterator<PluginResult> {
    return this.#results[Symbol.iterator]();
  }

  get(type: string, id: string): PluginResult | undefined {
    return this.#byUri.get(`${type}.${id}`);
  }

  getByUri(pluginUri: string): PluginResult | undefined {
    return this.#byUri.get(pluginUri);
  }

  ofType(type: string): readonly PluginResult[] {
    return this.#byType.get(type) ?? [];
  }

  /** Appends a result; the registry guarantees URIs are unique. */
  add(result: PluginResult): void {
    this.#results.push(result);
    this.#byUri.set(result.uri, result);
    const list = this.#byType.get(result.type);
    if (list === undefined) this.#byType.set(result.type, [result]);
    else list.push(result);
  }

  /** Records config warnings. */
  warn(warnings: readonly ConfigWarning[]): void {
    this.#warnings.push(...warnings);
  }

  /** A read-only view over this set that cannot close it. */
  view(): ReadonlyPluginSet {
    const set = this;
    return {
      get results() {
        return set.results;
      },
      get size() {
        return set.size;
      },
      [Symbol.iterator]: () => set[Symbol.iterator](),
      get: (type, id) => set.get(type, id),
      getByUri: (pluginUri) => set.getByUri(pluginUri),
      ofType: (type) => set.ofType(type),
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    const seen = new Set<unknown>();
    const failures: ContainertsError[] = [];
    for (let i = this.#results.length - 1; i >= 0; i--) {
      const result = this.#results[i];
      if (result === undefined || result.status !== "ok" || seen.has(result.instance)) continue;
      seen.add(result.instance);
      const close = closerOf(result.instance);
      if (close === undefined) continue;
      try {
        await close();
      } catch (err) {
        const e = withContext(err, `close plugin ${result.uri}`);
        this.#log.error("failed to close plugin", { id: result.uri, error: e.message });
        failures.push(e);
      }
    }
    if (failures.length === 1 && failures[0] !== undefined) throw failures[0];
    if (failures.length > 1) {
      throw new UnknownError(failures.map((e) => e.message).join("; "), {
        cause: new AggregateError(failures),
        bare: true,
      });
    }
  }
}

/** Copies live init metadata into a frozen result metadata. */
export function freezeMeta(meta: PluginMeta): PluginResultMeta {
  return Object.freeze({
    exports: Object.freeze({ ...meta.exports }),
    capabilities: Object.freeze([...meta.capabilities]),
    platforms: Object.freeze(meta.platforms.map((p) => Object.freeze({ ...p }))),
  });
}
