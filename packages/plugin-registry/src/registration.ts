import type { InitContext } from "./init-context.js";
import type { PluginType } from "./plugin-type.js";

/**
 * A plugin registration: a small declarative record of what a plugin is (type and id), what it needs
 * (`requires`), its default configuration and how to build it (`init`). The counterpart of containerd's
 * `plugin.Registration`, minus the global register: registrations are plain values that packages export
 * in arrays and the daemon composes into a {@link Registry}.
 *
 * @typeParam T - the instance `init` resolves to.
 * @typeParam C - the configuration type; `config` holds its defaults.
 */
export interface Registration<T = unknown, C extends object = Record<string, unknown>> {
  /** The plugin type, such as `io.containerd.content.v1` (see {@link PluginType}). */
  readonly type: PluginType;
  /** The id, unique within the type, such as `content` or `overlayfs`. */
  readonly id: string;
  /**
   * The plugin types that must be initialized before this one, or `["*"]` for "after every other plugin".
   * A type that no plugin provides is not an error here; `getSingle`/`getByType` for it fails at init.
   */
  readonly requires?: readonly (PluginType | "*")[];
  /**
   * The default configuration. The daemon deep-merges the config file section
   * `[plugins."<type>.<id>"]` over it; keys not present here are reported as unknown and dropped
   * (an empty object default accepts any keys, for maps).
   */
  readonly config?: C;
  /**
   * Builds the plugin. Throw {@link SkipPluginError} to be listed as skipped; any other error marks the
   * plugin failed (it stays listed, with the error, for introspection). Plugins that need another plugin
   * look it up through `ic` (`getSingle`, `getById`, `getByType`).
   */
  init(ic: InitContext<C>): Promise<T>;
}

/**
 * A registration of any instance and configuration type, as a {@link Registry} stores them.
 * Every `Registration<T, C>` is assignable to it.
 */
export type AnyRegistration = Registration<unknown, object>;

/** The URI of a plugin: `<type>.<id>`, as containerd's `Registration.URI()`. */
export function uri(r: { readonly type: string; readonly id: string }): string {
  return `${r.type}.${r.id}`;
}
