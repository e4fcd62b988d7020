/**
 * @containerts/plugin-registry: plugin types and ids, registrations, dependency ordering, the init
 * context and the introspection data of initialized plugins, like containerd's `plugin` package.
 */
export { PluginType, ServiceId } from "./plugin-type.js";
export { type Registration, type AnyRegistration, uri } from "./registration.js";
export { Registry, createRegistry, type DisabledFilter } from "./registry.js";
export {
  type InitContext,
  type InitProperties,
  type PluginMeta,
  type PluginPlatform,
} from "./init-context.js";
export { initPlugins, type InitPluginsOptions } from "./init-plugins.js";
export {
  type PluginSet,
  type ReadonlyPluginSet,
  type PluginResult,
  type PluginOk,
  type PluginNotOk,
  type PluginResultMeta,
  type PluginStatus,
} from "./plugin-set.js";
export { SkipPluginError, isSkipPlugin } from "./skip.js";
export { type Logger, type LogFields, noopLogger, withLogFields } from "./logger.js";
export { mergePluginConfig, type ConfigWarning, type MergedConfig } from "./config.js";
export { loadExternalPlugins, type PluginImporter } from "./external.js";
export { checkInstance } from "./check-instance.js";
