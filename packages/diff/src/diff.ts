/**
 * The diff service's interfaces and domain types (containerd's `diff` package): an {@link Applier}
 * turns a layer blob into changes on a set of mounts, a {@link Comparer} turns the difference between
 * two mount sets into a layer blob. Types only; no I/O.
 */
import type { Descriptor } from "@containerts/content";
import type { Context } from "@containerts/namespaces";
import type { Mount } from "@containerts/snapshots";

/** Opaque processor payloads of an apply request, keyed by stream-processor id (protobuf `Any`s). */
export interface ProcessorPayload {
  /** The type URL of the payload. */
  readonly typeUrl: string;
  /** The encoded payload. */
  readonly value: Uint8Array;
}

/** Options of {@link Applier.apply}. */
export interface ApplyOptions {
  /**
   * Payloads for stream processors, keyed by processor id (`ApplyRequest.payloads`). Only external
   * stream processors read them; without any configured they are ignored, as in containerd.
   */
  readonly payloads?: Readonly<Record<string, ProcessorPayload>>;
}

/**
 * Applies layers (containerd's `diff.Applier`).
 *
 * `apply` reads the blob `desc.digest` from the content store in the namespace of `ctx`, decompresses it
 * as its media type says (gzip and zstd are detected by magic number), extracts it onto `mounts` and
 * returns the descriptor of the uncompressed stream: media type `application/vnd.oci.image.layer.v1.tar`,
 * the sha256 of every uncompressed byte read (the diff ID) and their count. The extraction never creates,
 * changes or removes anything outside the mounted root.
 *
 * Errors: NotFound `content digest <d>` when the blob is not visible; Unknown
 * `failed to get stream processor for <mt>: no processor for media-type` for a media type that is not a
 * layer; InvalidArgument for malformed or hostile archives (the message names the entry); Canceled when
 * `ctx.signal` aborts; the mount error when mounting fails. Nothing is left mounted afterwards.
 */
export interface Applier {
  apply(ctx: Context, desc: Descriptor, mounts: readonly Mount[], options?: ApplyOptions): Promise<Descriptor>;
}

/** Options of {@link Comparer.compare}. */
export interface CompareOptions {
  /**
   * Media type of the produced layer: `application/vnd.oci.image.layer.v1.tar+gzip` (the default) or
   * `application/vnd.oci.image.layer.v1.tar`.
   */
  readonly mediaType?: string;
  /** Content ingest ref to write under; default `<unix nanoseconds>-<base64url of 3 random bytes>`. */
  readonly ref?: string;
  /** Labels of the committed blob. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Computes layers (containerd's `diff.Comparer`).
 *
 * `compare` mounts `lower` and, read-only, `upper`, walks both trees and writes the changes as an OCI
 * layer (deletions as `.wh.` whiteouts) into the content store, committed with `options.labels` plus,
 * for gzip, `containerd.io/uncompressed=<sha256 of the tar>`. Resolves to the committed blob's
 * descriptor.
 *
 * Errors: NotImplemented `unsupported diff media type: <mt>` for other media types; the content store's
 * errors (Unavailable when the ref is locked); Canceled when `ctx.signal` aborts.
 */
export interface Comparer {
  compare(ctx: Context, lower: readonly Mount[], upper: readonly Mount[], options?: CompareOptions): Promise<Descriptor>;
}

/** Both halves of a differ, as the diff service and the `walking` differ plugin provide them. */
export interface DiffService extends Applier, Comparer {}
