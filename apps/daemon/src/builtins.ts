/**
 * The composed plugin list of containertsd: every package's registrations, concatenated explicitly
 * (the counterpart of containerd's builtins.go, without import side effects).
 */
import type { AnyRegistration } from "@containerts/plugin-registry";
import { introspectionPlugins } from "@containerts/introspection/plugin";
import { metadataPlugins } from "@containerts/metadata/plugin";
import { contentPlugins } from "@containerts/content/plugin";
import { leasesPlugins } from "@containerts/leases/plugin";
import { namespacesPlugins } from "@containerts/namespaces/plugin";
import { containersPlugins } from "@containerts/containers/plugin";
import { imagesPlugins } from "@containerts/images/plugin";
import { eventsPlugins } from "@containerts/events/plugin";
import { snapshotsPlugins } from "@containerts/snapshots/plugin";
import { diffPlugins } from "@containerts/diff/plugin";
import { tasksPlugins } from "@containerts/tasks/plugin";
import type { VersionInfo } from "@containerts/introspection";

/** All compiled-in plugins, in registration order. */
export function builtinPlugins(version: VersionInfo): readonly AnyRegistration[] {
  return [...metadataPlugins, ...contentPlugins, ...leasesPlugins, ...eventsPlugins, ...snapshotsPlugins, ...diffPlugins, ...namespacesPlugins, ...containersPlugins, ...tasksPlugins, ...imagesPlugins, ...introspectionPlugins(version)];
}
