/**
 * Plugin type strings and service plugin ids, copied from containerd (`plugin/plugin.go`,
 * `services/services.go`) so that introspection output and `ctr plugins ls` match upstream.
 */

/**
 * The plugin types containerd defines, as a const object of their upstream strings.
 *
 * A plugin's URI is `<type>.<id>` (see {@link uri}); its per-plugin directories are `<root>/<uri>` and
 * `<state>/<uri>`.
 */
export const PluginType = {
  /** A content store (`io.containerd.content.v1`). */
  Content: "io.containerd.content.v1",
  /** A snapshotter (`io.containerd.snapshotter.v1`); the id doubles as the snapshotter name in the API. */
  Snapshot: "io.containerd.snapshotter.v1",
  /** The metadata store (`io.containerd.metadata.v1`). */
  Metadata: "io.containerd.metadata.v1",
  /** A differ (`io.containerd.differ.v1`). */
  Differ: "io.containerd.differ.v1",
  /** The event exchange (`io.containerd.event.v1`). */
  Event: "io.containerd.event.v1",
  /** The garbage-collection scheduler (`io.containerd.gc.v1`). */
  GC: "io.containerd.gc.v1",
  /** An internal service exposing native types (`io.containerd.service.v1`). */
  Service: "io.containerd.service.v1",
  /** A gRPC service registered on the daemon's gRPC server (`io.containerd.grpc.v1`). */
  GRPC: "io.containerd.grpc.v1",
  /** A ttrpc service registered on the daemon's ttrpc server (`io.containerd.ttrpc.v1`). */
  TTRPC: "io.containerd.ttrpc.v1",
  /** A runtime v2 task manager (`io.containerd.runtime.v2`). */
  RuntimeV2: "io.containerd.runtime.v2",
  /** A legacy runtime v1 (`io.containerd.runtime.v1`). */
  Runtime: "io.containerd.runtime.v1",
  /** A task monitor (`io.containerd.monitor.v1`). */
  Monitor: "io.containerd.monitor.v1",
  /** An internal plugin (`io.containerd.internal.v1`), such as `restart` or `opt`. */
  Internal: "io.containerd.internal.v1",
  /** A lease manager (`io.containerd.lease.v1`). */
  Lease: "io.containerd.lease.v1",
  /** An OpenTelemetry span processor (`io.containerd.tracing.processor.v1`). */
  TracingProcessor: "io.containerd.tracing.processor.v1",
} as const;

/**
 * A plugin type string. The known upstream types are listed for completion, but any string is accepted:
 * external plugins may define types of their own.
 */
export type PluginType = (typeof PluginType)[keyof typeof PluginType] | (string & {});

/**
 * The ids of containerd's `io.containerd.service.v1` plugins, as a const object of their upstream strings.
 *
 * The `…Service` names are the canonical ones; the short names (`Content`, `Images`, …) are aliases with the
 * same values, as used in the project's style guide.
 */
export const ServiceId = {
  /** The content service (`content-service`). */
  ContentService: "content-service",
  /** The images service (`images-service`). */
  ImagesService: "images-service",
  /** The containers service (`containers-service`). */
  ContainersService: "containers-service",
  /** The snapshots service (`snapshots-service`). */
  SnapshotsService: "snapshots-service",
  /** The diff service (`diff-service`). */
  DiffService: "diff-service",
  /** The tasks service (`tasks-service`). */
  TasksService: "tasks-service",
  /** The leases service (`leases-service`). */
  LeasesService: "leases-service",
  /** The namespaces service (`namespaces-service`). */
  NamespacesService: "namespaces-service",
  /** The introspection service (`introspection-service`). */
  IntrospectionService: "introspection-service",
  /** Alias of {@link ServiceId.ContentService}. */
  Content: "content-service",
  /** Alias of {@link ServiceId.ImagesService}. */
  Images: "images-service",
  /** Alias of {@link ServiceId.ContainersService}. */
  Containers: "containers-service",
  /** Alias of {@link ServiceId.SnapshotsService}. */
  Snapshots: "snapshots-service",
  /** Alias of {@link ServiceId.DiffService}. */
  Diff: "diff-service",
  /** Alias of {@link ServiceId.TasksService}. */
  Tasks: "tasks-service",
  /** Alias of {@link ServiceId.LeasesService}. */
  Leases: "leases-service",
  /** Alias of {@link ServiceId.NamespacesService}. */
  Namespaces: "namespaces-service",
  /** Alias of {@link ServiceId.IntrospectionService}. */
  Introspection: "introspection-service",
} as const;

/** A service plugin id: one of {@link ServiceId}'s values. */
export type ServiceId = (typeof ServiceId)[keyof typeof ServiceId];
