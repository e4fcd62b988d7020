/**
 * Copying a byte stream into a content writer with the transfer kept busy: chunks are gathered into
 * writes of up to 1 MiB and the next write is prepared while the previous one is acknowledged, so the
 * source (an HTTP body, a tar entry) keeps flowing while the daemon stores the bytes.
 */
import type { ContentWriter } from "@containerts/content";
import { FailedPreconditionError } from "@containerts/errdefs";

/** The size of the writes {@link pump} makes (the chunk size of containerd's Write stream). */
export const WRITE_SIZE = 1 << 20;

/** Thrown by {@link pump} when the source failed (for example a connection cut mid-body). */
export class SourceError extends Error {
  constructor(readonly source: unknown) {
    super(source instanceof Error ? source.message : String(source), { cause: source });
  }
}

/** Options of {@link pump}. */
export interface PumpOptions {
  /** The most bytes the writer may hold at the end (its offset included); more fails. */
  readonly limit?: number;
  /** What is being written, for error messages. */
  readonly what?: string;
  /** Called with the writer's offset after each write. */
  readonly onWritten?: (offset: number) => void;
  /** Sees every chunk read, in order (for hashing or sniffing). */
  readonly tap?: (chunk: Uint8Array) => void;
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts, length);
}

/**
 * Appends everything `source` yields to `writer` (at its current offset). Bytes read before the source
 * fails are still written, so a retry can resume from `writer.offset`.
 *
 * @throws SourceError when the source fails (after the bytes read so far are written).
 * @throws FailedPreconditionError `<what>: more than <limit> bytes` when the data exceeds `limit`.
 * @throws what the writer throws.
 */
export async function pump(source: AsyncIterable<Uint8Array>, writer: ContentWriter, options: PumpOptions = {}): Promise<void> {
  const { limit, onWritten, tap } = options;
  let total = writer.offset;
  let parts: Uint8Array[] = [];
  let partsLength = 0;
  let inflight: Promise<void> | undefined;
  const start = (buf: Uint8Array) => {
    const p = writer.write(buf).then(() => onWritten?.(writer.offset));
    p.catch(() => undefined);
    inflight = p;
  };
  let sourceError: unknown;
  let tooLarge = false;
  let finished = false;
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await it.next();
      } catch (err) {
        sourceError = err;
        finished = true;
        break;
      }
      if (next.done === true) {
        finished = true;
        break;
      }
      const chunk = next.value;
      if (chunk.byteLength === 0) continue;
      if (limit !== undefined && total + chunk.byteLength > limit) {
        tooLarge = true;
        break;
      }
      tap?.(chunk);
      total += chunk.byteLength;
      parts.push(chunk);
      partsLength += chunk.byteLength;
      if (partsLength >= WRITE_SIZE) {
        if (inflight !== undefined) await inflight;
        start(concat(parts, partsLength));
        parts = [];
        partsLength = 0;
      }
    }
  } finally {
    if (!finished) await Promise.resolve(it.return?.()).catch(() => undefined);
  }
  if (inflight !== undefined) await inflight;
  if (partsLength > 0 && !tooLarge) {
    await writer.write(concat(parts, partsLength));
    onWritten?.(writer.offset);
  }
  if (tooLarge) throw new FailedPreconditionError(`${options.what ?? "content"}: more than the expected ${limit} bytes`);
  if (sourceError !== undefined) throw new SourceError(sourceError);
}
