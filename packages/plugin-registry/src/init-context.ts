import type { Logger } from "./logger.js";
import type { ReadonlyPluginSet } from "./plugin-set.js";
import type { PluginType } from "./plugin-type.js";

/** A platform a plugin supports, as reported by introspection (`containerd.types.Platform`). */
export interface PluginPlatform {
  /** The operating system, such as `linux`. */
  readonly os: string;
  /** The CPU architecture, such as `amd64` or `arm64`. */
  readonly architecture: string;
  /** The architecture variant, such as `v8`. */
  readonly variant?: string;
}

/**
 * What a plugin tells introspection about itself. `init` fills it in through `ic.meta`; the registry
 * keeps it with the plugin's result, also when init fails.
 */
export interface PluginMeta {
  /** Values the plugin exports, such as `root` for a snapshotter. */
  exports: Record<string, string>;
  /** Feature switches the plugin supports. */
  capabilities: string[];
  /** The platforms the plugin supports. */
  platforms: PluginPlatform[];
}

/** The daemon paths and addresses a plugin sees at init. */
export interface InitProperties {
  /** The plugin's own persistent directory, `<root>/<type>.<id>`. Not created by the registry. */
  readonly rootDir: string;
  /** The plugin's own runtime-state directory, `<state>/<type>.<id>`. Not created by the registry. */
  readonly stateDir: string;
  /** The daemon's root directory (persistent data). */
  readonly root: string;
  /** The daemon's state directory (data that does not survive a reboot). */
  readonly state: string;
  /** The daemon's gRPC address (a unix socket path), or `""` when none is configured. */
  readonly grpcAddress: string;
  /** The daemon's ttrpc address, or `""` when none is configured. */
  readonly ttrpcAddress: string;
}

/**
 * Everything a plugin's `init` receives: paths, its configuration, a logger, the metadata it reports,
 * and lookups of the plugins initialized before it. The counterpart of containerd's `plugin.InitContext`.
 *
 * Lookups only see plugins earlier in the init order; declare the types you look up in `requires` so
 * they come first. Lookup errors are meant to be left uncaught: the plugin's init then fails with an
 * error that names the missing or failed dependency, and plugins that do not need it are unaffected.
 *
 * @typeParam C - the plugin's configuration type.
 */
export interface InitContext<C extends object = Record<string, unknown>> {
  /** Paths and addresses. */
  readonly properties: InitProperties;
  /** The registration's defaults with the config file section `[plugins."<type>.<id>"]` merged over them. */
  readonly config: C;
  /** Mutable metadata for introspection: exports, capabilities, platforms. */
  readonly meta: PluginMeta;
  /** The daemon's logger, with the plugin's `type` and `id` bound as fields. */
  readonly log: Logger;
  /** Aborted when the daemon gives up starting (for example on SIGTERM during init). */
  readonly signal: AbortSignal;
  /**
   * The instance of the one successfully initialized plugin of `type`.
   *
   * @throws NotFoundError (`no plugins registered for <type>`) when no enabled plugin has the type;
   *   FailedPreconditionError when every plugin of the type failed or was skipped (naming them and why),
   *   when several initialized (use `getById`), or when the type was not initialized yet (add it to
   *   `requires`).
   */
  getSingle<T>(type: PluginType): T;
  /**
   * The instance of the plugin `<type>.<id>`.
   *
   * @throws NotFoundError when no such plugin is enabled; FailedPreconditionError when it failed, was
   *   skipped, or is not initialized yet.
   */
  getById<T>(type: PluginType, id: string): T;
  /**
   * The instances of the successfully initialized plugins of `type`, by id, in init order. Failed and
   * skipped ones are left out, so the map may be empty.
   *
   * @throws NotFoundError when no enabled plugin has the type; FailedPreconditionError when the type was
   *   not initialized yet.
   */
  getByType<T>(type: PluginType): ReadonlyMap<string, T>;
  /** A live read-only view of the plugins initialized so far; it grows as later plugins initialize. */
  plugins(): ReadonlyPluginSet;
}
