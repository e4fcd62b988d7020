import type { Logger } from "@containerts/plugin-registry";
import { noopLogger } from "@containerts/plugin-registry";
import { extract, type DeviceNodePolicy } from "../internal/extract/extractor.js";
import { runningInUserNamespace } from "../internal/mounts.js";
import { TarReader } from "../internal/tar/reader.js";

export type { DeviceNodePolicy } from "../internal/extract/extractor.js";

/** Options of {@link applyTar}. */
export interface ApplyTarOptions {
  /**
   * How whiteouts are applied: `naive` (default) removes the named files (`.wh.<name>`) and, for an
   * opaque marker (`.wh..wh..opq`), everything in the directory that this layer did not unpack;
   * `overlay` writes overlayfs' form instead (a 0/0 character device owned as the header says, and
   * the `trusted.overlay.opaque=y` xattr), for extraction straight into an overlay upper directory.
   */
  readonly whiteouts?: "naive" | "overlay";
  /**
   * Lower directories, nearest first: a parent directory the layer needs but does not contain is
   * created with the owner, mode, times and (non-`trusted.`) xattrs of the first lower that has it.
   */
  readonly parents?: readonly string[];
  /**
   * Character and block devices: `create` them, `skip` them with a warning (containerd's behaviour in
   * a user namespace), or `reject` the layer. `auto` (default): create when running as root outside a
   * user namespace, else skip.
   */
  readonly deviceNodes?: DeviceNodePolicy | "auto";
  /** Receives warnings about skipped entries and xattrs. */
  readonly log?: Logger;
  /** Aborts the extraction. */
  readonly signal?: AbortSignal;
}

/** Resolves the `auto` device-node policy for this process. */
export function resolveDeviceNodePolicy(policy: DeviceNodePolicy | "auto" | undefined): DeviceNodePolicy {
  if (policy !== undefined && policy !== "auto") return policy;
  return process.geteuid?.() === 0 && !runningInUserNamespace() ? "create" : "skip";
}

/**
 * Extracts an uncompressed OCI layer (a tar stream) into the directory `root`, which is treated as a
 * jail: nothing outside it is created, changed, chmod'ed, chown'ed or utime'd, whatever the archive
 * holds (`..` and absolute names are cleaned into the root, symlinks — pre-existing or from the archive
 * — are resolved inside it, hardlinks must point inside it). Ownership, modes (with setuid, setgid and
 * sticky bits), xattrs from `SCHILY.xattr.*` records (except `trusted.*`), hardlinks, symlinks, fifos,
 * devices (per policy), times and sparse files are restored as the archive says. After the archive's
 * end, the rest of `source` is read and discarded, so a caller hashing the stream sees every byte.
 *
 * Resolves to the number of bytes read from `source`.
 *
 * @throws InvalidArgumentError for malformed archives and for entries that break the rules (the
 *   message names the entry); CanceledError when the signal aborts; system errors with the entry name
 *   as context.
 */
export async function applyTar(root: string, source: AsyncIterable<Uint8Array>, options: ApplyTarOptions = {}): Promise<number> {
  const reader = new TarReader(source);
  try {
    await extract(root, reader, {
      whiteouts: options.whiteouts ?? "naive",
      ...(options.parents === undefined ? {} : { parents: options.parents }),
      deviceNodes: resolveDeviceNodePolicy(options.deviceNodes),
      log: options.log ?? noopLogger,
      signal: options.signal ?? new AbortController().signal,
    });
    await reader.bytes.drain();
  } catch (err) {
    await reader.bytes.close().catch(() => undefined);
    throw err;
  }
  return reader.bytes.consumed;
}
