/**
 * Introspection and version: what the daemon is made of (its plugins, their state and what they export),
 * its identity (a UUID persisted under the root) and its version. Interfaces and domain types only.
 * @module
 */
import type { Context } from "@containerts/namespaces";

/** A platform a plugin supports. */
export interface PluginPlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** The error a plugin's init ended with: its gRPC code and message. */
export interface PluginInitError {
  readonly code: number;
  readonly message: string;
}

/** One plugin as introspection reports it (containerd's `introspection.Plugin`). */
export interface PluginInfo {
  readonly type: string;
  readonly id: string;
  /** The plugin types it requires. */
  readonly requires: readonly string[];
  readonly platforms: readonly PluginPlatform[];
  readonly exports: Readonly<Record<string, string>>;
  readonly capabilities: readonly string[];
  /** Set when init failed or the plugin was skipped (the message then contains "skip plugin"). */
  readonly initError?: PluginInitError;
}

/** The daemon's identity. */
export interface ServerInfo {
  /** A random v4 UUID created on first use and stable across restarts. */
  readonly uuid: string;
}

/** The daemon's version. */
export interface VersionInfo {
  readonly version: string;
  readonly revision: string;
}

/**
 * The introspection service.
 *
 * `plugins` lists every plugin in init order, filtered with containerd's filter language over the fields
 * `type` and `id` (InvalidArgumentError on a malformed filter). `server` returns the persistent identity.
 */
export interface IntrospectionService {
  plugins(ctx: Context, filters?: readonly string[]): Promise<PluginInfo[]>;
  server(ctx: Context): Promise<ServerInfo>;
}

/** The version service. */
export interface VersionService {
  version(ctx: Context): Promise<VersionInfo>;
}
