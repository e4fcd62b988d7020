/**
 * The composed plugin list of containertsd: every package's registrations, concatenated explicitly
 * (the counterpart of containerd's builtins.go, without import side effects).
 */
import type { AnyRegistration } from "@containerts/plugin-registry";
import { introspectionPlugins } from "@containerts/introspection/plugin";
import { metadataPlugins } from "@containerts/metadata/plugin";
import { namespacesPlugins } from "@containerts/namespaces/plugin";
import type { VersionInfo } from "@containerts/introspection";

/** All compiled-in plugins, in registration order. */
export function builtinPlugins(version: VersionInfo): readonly AnyRegistration[] {
  return [...metadataPlugins, ...namespacesPlugins, ...introspectionPlugins(version)];
}
