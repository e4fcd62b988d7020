/**
 * Progress reporting of the image operations: one event per change of a blob's transfer, keyed by the
 * same ref containerd's `ctr` shows (`layer-sha256:…`), so a CLI can draw ctr's progress table.
 */
import type { Descriptor } from "@containerts/content";

/**
 * The state of one transfer, with ctr's words: `resolving`/`resolved` (the reference), `waiting`
 * (queued), `downloading`/`uploading` (bytes moving), `exists` (already there, nothing moved),
 * `mounted` (cross-repository mount), `committing`, `done`; and `unpacking`/`unpacked` for layers being
 * applied.
 */
export type TransferStatus =
  | "resolving"
  | "resolved"
  | "waiting"
  | "downloading"
  | "uploading"
  | "committing"
  | "exists"
  | "mounted"
  | "done"
  | "unpacking"
  | "unpacked";

/** A change in one transfer. */
export interface ProgressEvent {
  /** The ref the transfer is known by (`manifest-sha256:…`, `layer-sha256:…`, or the image reference). */
  readonly ref: string;
  readonly status: TransferStatus;
  /** Bytes moved so far (for `downloading`/`uploading`; the size once done). */
  readonly offset: number;
  /** Bytes expected (0 when unknown). */
  readonly total: number;
  /** The blob, when the event is about one. */
  readonly descriptor?: Descriptor;
}

/** A progress callback; it must not throw (what it throws is ignored). */
export type ProgressFn = (event: ProgressEvent) => void;

/** Calls `fn` when given, ignoring what it throws. */
export function report(fn: ProgressFn | undefined, event: ProgressEvent): void {
  if (fn === undefined) return;
  try {
    fn(event);
  } catch {
    // A display problem never fails a transfer.
  }
}
