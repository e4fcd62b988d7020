import { join } from "node:path";
import {
  CanceledError,
  type ContainertsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  normalize,
  withContext,
} from "@containerts/errdefs";
import { type ConfigWarning, mergePluginConfig } from "./config.js";
import type { InitContext, PluginMeta } from "./init-context.js";
import { type Logger, noopLogger, withLogFields } from "./logger.js";
import { MutablePluginSet, type PluginResult, type PluginSet, type ReadonlyPluginSet, freezeMeta } from "./plugin-set.js";
import { type AnyRegistration, uri } from "./registration.js";
import type { DisabledFilter, Registry } from "./registry.js";
import { isSkipPlugin } from "./skip.js";

/** Options of {@link initPlugins}: the parts of the daemon config that plugins see. */
export interface InitPluginsOptions {
  /** The daemon's root directory; plugin `rootDir`s are `<root>/<type>.<id>`. */
  readonly root: string;
  /** The daemon's state directory; plugin `stateDir`s are `<state>/<type>.<id>`. */
  readonly state: string;
  /** The gRPC address plugins see (default `""`). */
  readonly grpcAddress?: string;
  /** The ttrpc address plugins see (default `""`). */
  readonly ttrpcAddress?: string;
  /**
   * The config file's `plugins` table: sections keyed by plugin URI (`[plugins."<type>.<id>"]`).
   * A section for a plugin that is not registered is reported as a warning.
   */
  readonly pluginConfig?: Readonly<Record<string, unknown>>;
  /** Plugins not to load (the config file's `disabled_plugins` URIs, or a predicate); they are not listed. */
  readonly disabledPlugins?: DisabledFilter;
  /**
   * URIs of plugins that must load (the config file's `required_plugins`): `initPlugins` rejects when one
   * is not enabled, or fails or skips at init.
   */
  readonly requiredPlugins?: readonly string[];
  /** The daemon's logger; each plugin gets it with its `type` and `id` bound (default: discard). */
  readonly log?: Logger;
  /** Aborts startup between two plugins: the plugins initialized so far are closed. */
  readonly signal?: AbortSignal;
}

interface ResolvedInitPluginsOptions {
  readonly root: string;
  readonly state: string;
  readonly grpcAddress: string;
  readonly ttrpcAddress: string;
  readonly pluginConfig: Readonly<Record<string, unknown>>;
  readonly disabledPlugins: DisabledFilter | undefined;
  readonly requiredPlugins: readonly string[];
  readonly log: Logger;
  readonly signal: AbortSignal;
}

function resolveInitPluginsOptions(options: InitPluginsOptions): ResolvedInitPluginsOptions {
  if (options.root === "") throw new InvalidArgumentError("init plugins: root must be specified");
  if (options.state === "") throw new InvalidArgumentError("init plugins: state must be specified");
  if (options.root === options.state) {
    throw new InvalidArgumentError("init plugins: root and state must be different paths");
  }
  return {
    root: options.root,
    state: options.state,
    grpcAddress: options.grpcAddress ?? "",
    ttrpcAddress: options.ttrpcAddress ?? "",
    pluginConfig: options.pluginConfig ?? {},
    disabledPlugins: options.disabledPlugins,
    requiredPlugins: options.requiredPlugins ?? [],
    log: options.log ?? noopLogger,
    signal: options.signal ?? new AbortController().signal,
  };
}

function describeUnavailable(result: PluginResult): string {
  if (result.status === "skip") {
    const reason = (result.error as { reason?: unknown }).reason;
    return typeof reason === "string" && reason !== "" ? `${result.uri} was skipped (${reason})` : `${result.uri} was skipped`;
  }
  return `${result.uri} failed to initialize (${result.error?.message ?? "unknown error"})`;
}

/**
 * Initializes the enabled plugins of `registry`, strictly one after another in graph order (see
 * {@link Registry.graph}), as containerd's server does at startup, and returns every result.
 *
 * For each plugin: its config is its defaults merged with `pluginConfig["<type>.<id>"]`; `init` runs with
 * an {@link InitContext}; a {@link SkipPluginError} marks it `skip`, any other error marks it `error`
 * (including a bad config section or a failed lookup of a dependency). Failed and skipped plugins stay in
 * the set with their error; later plugins that look them up fail in turn, while plugins that do not need
 * them are unaffected.
 *
 * @throws InvalidArgumentError when root or state is empty, they are the same path, or the
 *   requirements form a cycle; FailedPreconditionError when a
 *   required plugin is not enabled (before anything is initialized); the plugin's own error, with
 *   `load required plugin <uri>` as context and the same kind, when a required plugin fails or skips;
 *   CanceledError when `signal` aborts. In the last two cases the plugins initialized so far are closed
 *   first.
 */
export async function initPlugins(registry: Registry, options: InitPluginsOptions): Promise<PluginSet> {
  const opts = resolveInitPluginsOptions(options);
  const ordered = registry.graph(opts.disabledPlugins);
  const enabledUris = new Set(ordered.map(uri));

  const missing = opts.requiredPlugins.filter((u) => !enabledUris.has(u));
  if (missing.length > 0) {
    throw new FailedPreconditionError(`required plugin ${missing.join(", ")} not included`);
  }
  const required = new Set(opts.requiredPlugins);

  const set = new MutablePluginSet(opts.log);
  const view = set.view();

  const unknownSections: ConfigWarning[] = [];
  for (const section of Object.keys(opts.pluginConfig)) {
    if (registry.get(section) === undefined) {
      unknownSections.push({ plugin: section, key: "", message: "config section for an unknown plugin ignored" });
    }
  }
  for (const w of unknownSections) opts.log.warn(w.message, { plugin: w.plugin });
  set.warn(unknownSections);

  // Ids of each type still to be initialized: a lookup of one is an ordering mistake (a missing
  // `requires`), not a missing plugin.
  const pending = new Map<string, Set<string>>();
  for (const r of ordered) {
    const ids = pending.get(r.type);
    if (ids === undefined) pending.set(r.type, new Set([r.id]));
    else ids.add(r.id);
  }

  const abortStartup = async (err: ContainertsError): Promise<never> => {
    try {
      await set.close();
    } catch (closeErr) {
      opts.log.error("failed to close plugins after aborted startup", { error: normalize(closeErr).message });
    }
    throw err;
  };

  for (const r of ordered) {
    if (opts.signal.aborted) {
      await abortStartup(new CanceledError("init plugins", { cause: opts.signal.reason }));
    }
    const pluginUri = uri(r);
    const log = withLogFields(opts.log, { type: r.type, id: r.id });
    log.info(`loading plugin "${pluginUri}"...`);

    const meta: PluginMeta = { exports: {}, capabilities: [], platforms: [] };
    let config: unknown = undefined;
    let result: PluginResult;
    try {
      const merged = mergePluginConfig(pluginUri, r.config, opts.pluginConfig[pluginUri]);
      for (const w of merged.warnings) log.warn(`config: ${w.message}`, { key: w.key });
      set.warn(merged.warnings);
      config = merged.config;
      const ic = createInitContext(r, {
        opts,
        config: merged.config,
        meta,
        log,
        view,
        set,
        pending,
      });
      const instance: unknown = await r.init(ic);
      result = { ...resultBase(r, pluginUri, config, meta), status: "ok", instance };
    } catch (err) {
      const error = normalize(err);
      const status = isSkipPlugin(err) ? "skip" : "error";
      result = { ...resultBase(r, pluginUri, config, meta), status, error };
      if (status === "skip") log.info(`skip loading plugin "${pluginUri}"...`, { error: error.message });
      else log.warn(`failed to load plugin ${pluginUri}`, { error: error.message });
    }
    set.add(result);
    pending.get(r.type)?.delete(r.id);

    if (result.status !== "ok" && required.has(pluginUri)) {
      await abortStartup(withContext(result.error, `load required plugin ${pluginUri}`));
    }
  }
  return set;
}

function resultBase(r: AnyRegistration, pluginUri: string, config: unknown, meta: PluginMeta) {
  return {
    registration: r,
    uri: pluginUri,
    type: r.type,
    id: r.id,
    requires: Object.freeze([...(r.requires ?? [])]),
    config,
    meta: freezeMeta(meta),
  };
}

interface ContextParts {
  readonly opts: ResolvedInitPluginsOptions;
  readonly config: object;
  readonly meta: PluginMeta;
  readonly log: Logger;
  readonly view: ReadonlyPluginSet;
  readonly set: MutablePluginSet;
  readonly pending: ReadonlyMap<string, ReadonlySet<string>>;
}

function createInitContext(r: AnyRegistration, parts: ContextParts): InitContext<object> {
  const { opts, set, pending } = parts;
  const pluginUri = uri(r);

  const notYet = (what: string, type: string): FailedPreconditionError =>
    new FailedPreconditionError(`${what} not initialized yet: add ${type} to the requires of ${pluginUri}`);

  /** The results of `type`, or an error when there are none to look at. */
  const resultsOf = (type: string): readonly PluginResult[] => {
    const results = set.ofType(type);
    if (results.length > 0) return results;
    if ((pending.get(type)?.size ?? 0) > 0) throw notYet(`${type} plugins are`, type);
    throw new NotFoundError(`no plugins registered for ${type}`);
  };

  return {
    properties: Object.freeze({
      rootDir: join(opts.root, pluginUri),
      stateDir: join(opts.state, pluginUri),
      root: opts.root,
      state: opts.state,
      grpcAddress: opts.grpcAddress,
      ttrpcAddress: opts.ttrpcAddress,
    }),
    config: parts.config,
    meta: parts.meta,
    log: parts.log,
    signal: opts.signal,
    getSingle<T>(type: string): T {
      const results = resultsOf(type);
      const ok = results.filter((x) => x.status === "ok");
      if (ok.length === 1 && ok[0] !== undefined) return ok[0].instance as T;
      if (ok.length > 1) {
        throw new FailedPreconditionError(
          `more than one ${type} plugin initialized (${ok.map((x) => x.id).join(", ")}): look one up by id`,
        );
      }
      throw new FailedPreconditionError(`no ${type} plugin available: ${results.map(describeUnavailable).join("; ")}`, {
        cause: results[0]?.error,
      });
    },
    getById<T>(type: string, id: string): T {
      const result = set.get(type, id);
      if (result === undefined) {
        if (pending.get(type)?.has(id) === true) throw notYet(`${type}.${id} is`, type);
        if (set.ofType(type).length === 0 && (pending.get(type)?.size ?? 0) === 0) {
          throw new NotFoundError(`no plugins registered for ${type}`);
        }
        throw new NotFoundError(`no ${type} plugins with id ${id}`);
      }
      if (result.status === "ok") return result.instance as T;
      throw new FailedPreconditionError(`required plugin ${describeUnavailable(result)}`, { cause: result.error });
    },
    getByType<T>(type: string): ReadonlyMap<string, T> {
      const out = new Map<string, T>();
      for (const x of resultsOf(type)) if (x.status === "ok") out.set(x.id, x.instance as T);
      return out;
    },
    plugins: () => parts.view,
  };
}
