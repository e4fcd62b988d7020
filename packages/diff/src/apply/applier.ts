import { createHash } from "node:crypto";
import type { Descriptor, Provider } from "@containerts/content";
import { UnknownError } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { noopLogger, type Logger } from "@containerts/plugin-registry";
import type { Mount } from "@containerts/snapshots";
import type { Applier, ApplyOptions } from "../diff.js";
import { createZstdDecoder, decompressStream, type ZstdDecoder } from "../internal/compression.js";
import type { DeviceNodePolicy } from "../internal/extract/extractor.js";
import { overlayDirs, runningInUserNamespace, withTempMount } from "../internal/mounts.js";
import { LayerMediaType, diffCompression } from "../media-types.js";
import { applyTar } from "./apply-tar.js";

/** Options of {@link FileSystemApplier}. */
export interface FileSystemApplierOptions {
  /** Where layer blobs are read from (namespaced by the request context, e.g. the metadata store). */
  readonly store: Provider;
  /** Directory for temporary mounts (containerd: `<root>/tmpmounts`); created when needed. */
  readonly tempMountRoot: string;
  /** Device nodes in layers: see `ApplyTarOptions.deviceNodes`. Default `auto`. */
  readonly deviceNodes?: DeviceNodePolicy | "auto";
  /** Receives warnings about skipped entries. */
  readonly log?: Logger;
}

/**
 * containerd's file-system applier (`diff/apply`): streams a layer from the content store, decompresses
 * it, hashes the uncompressed bytes and extracts them — straight into the upper directory of a single
 * overlay mount (with overlay whiteouts), otherwise into the mounts mounted under a temporary directory
 * (with whiteouts applied by removal), which are unmounted again afterwards, also on error.
 *
 * zstd layers are decoded in a worker thread owned by the applier; {@link FileSystemApplier.close} stops it.
 */
export class FileSystemApplier implements Applier {
  readonly #store: Provider;
  readonly #tempMountRoot: string;
  readonly #deviceNodes: DeviceNodePolicy | "auto";
  readonly #log: Logger;
  readonly #zstd: ZstdDecoder = createZstdDecoder();

  constructor(options: FileSystemApplierOptions) {
    this.#store = options.store;
    this.#tempMountRoot = options.tempMountRoot;
    this.#deviceNodes = options.deviceNodes ?? "auto";
    this.#log = options.log ?? noopLogger;
  }

  async apply(ctx: Context, desc: Descriptor, mounts: readonly Mount[], _options: ApplyOptions = {}): Promise<Descriptor> {
    const compression = diffCompression(desc.mediaType);
    if (compression === undefined) {
      throw new UnknownError(`failed to get stream processor for ${desc.mediaType}: no processor for media-type`, {
        bare: true,
      });
    }
    ctx.signal.throwIfAborted();
    const raw = this.#store.read(ctx, desc.digest);
    const data = compression === "" ? raw : decompressStream(raw, this.#zstd, ctx.signal);
    const hash = createHash("sha256");
    let size = 0;
    async function* tap(): AsyncGenerator<Uint8Array> {
      for await (const chunk of data) {
        hash.update(chunk);
        size += chunk.byteLength;
        yield chunk;
      }
    }
    const log = this.#log;
    const common = { deviceNodes: this.#deviceNodes, log, signal: ctx.signal } as const;
    const only = mounts.length === 1 ? mounts[0] : undefined;
    const overlay = only?.type === "overlay" && !runningInUserNamespace() ? overlayDirs(only.options) : undefined;
    if (overlay?.upper !== undefined) {
      await applyTar(overlay.upper, tap(), { ...common, whiteouts: "overlay", parents: overlay.lowers });
    } else {
      await withTempMount(this.#tempMountRoot, mounts, (root) => applyTar(root, tap(), { ...common, whiteouts: "naive" }));
    }
    log.debug("diff applied", { digest: desc.digest, size: desc.size, media: desc.mediaType });
    return { mediaType: LayerMediaType.OciLayer, digest: `sha256:${hash.digest("hex")}`, size };
  }

  /** Stops the zstd worker thread, if one was started. The applier stays usable (decoding inline). */
  async close(): Promise<void> {
    await this.#zstd.close();
  }
}
