import { ContainertsError, type ErrorOptions } from "@containerts/errdefs";

const SKIP = Symbol.for("containerts.plugin-registry.skip");

/**
 * The error a plugin's `init` throws to say "do not load me here" (containerd's `plugin.ErrSkipPlugin`),
 * for example a btrfs snapshotter on a root that is not btrfs. The plugin is then listed with status
 * `"skip"` instead of `"error"`.
 *
 * The message is `<reason>: skip plugin` (or `skip plugin` without a reason): `ctr plugins ls` prints
 * `skip` exactly when an init error's message contains "skip plugin". On the wire it is an UNKNOWN status,
 * as upstream.
 */
export class SkipPluginError extends ContainertsError {
  readonly kind = "Unknown" as const;
  /** Why the plugin skipped itself; may be empty. */
  readonly reason: string;

  constructor(reason = "", options: Pick<ErrorOptions, "cause"> = {}) {
    super(reason, "skip plugin", options);
    this.name = "SkipPluginError";
    this.reason = reason;
  }

  /** The brand read by {@link isSkipPlugin}. */
  get [SKIP](): true {
    return true;
  }
}

/**
 * True when `err` is a {@link SkipPluginError}. Reads a brand rather than using `instanceof`, so a
 * SkipPluginError thrown by an external plugin that bundles its own copy of this package is recognised.
 */
export function isSkipPlugin(err: unknown): err is SkipPluginError {
  return typeof err === "object" && err !== null && (err as { [SKIP]?: unknown })[SKIP] === true;
}
