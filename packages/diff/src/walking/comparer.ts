import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { openWriter, type ContentStore, type ContentWriter, type Descriptor } from "@containerts/content";
import { NotImplementedError, isAlreadyExists, withContext } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { noopLogger, type Logger } from "@containerts/plugin-registry";
import type { Mount } from "@containerts/snapshots";
import { lgetxattr } from "@containerts/sys";
import type { CompareOptions, Comparer } from "../diff.js";
import { overlayDirs, readonlyMounts, withTempMount } from "../internal/mounts.js";
import { LayerMediaType, UNCOMPRESSED_LABEL } from "../media-types.js";
import { writeDiff } from "./write-diff.js";

/** Options of {@link WalkingComparer}. */
export interface WalkingComparerOptions {
  /** Where layers are written (namespaced by the request context). */
  readonly store: ContentStore;
  /** Directory for temporary mounts (containerd: `<root>/tmpmounts`); created when needed. */
  readonly tempMountRoot: string;
  readonly log?: Logger;
}

/** containerd's default diff ref: `<unix nanoseconds>-<base64url of 3 random bytes>`. */
export function uniqueRef(): string {
  const nanos = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  return `${nanos}-${randomBytes(3).toString("base64url")}`;
}

/**
 * containerd's walking differ (`diff/walking`): mounts both mount sets (the upper one read-only), walks
 * the two trees and writes the difference as a layer into the content store.
 *
 * When the upper mounts are a single overlay mount, directories marked opaque in its upper directory
 * are written as `.wh..wh..opq` markers instead of one whiteout per hidden lower entry.
 */
export class WalkingComparer implements Comparer {
  readonly #store: ContentStore;
  readonly #tempMountRoot: string;
  readonly #log: Logger;

  constructor(options: WalkingComparerOptions) {
    this.#store = options.store;
    this.#tempMountRoot = options.tempMountRoot;
    this.#log = options.log ?? noopLogger;
  }

  async compare(ctx: Context, lower: readonly Mount[], upper: readonly Mount[], options: CompareOptions = {}): Promise<Descriptor> {
    const mediaType = options.mediaType === undefined || options.mediaType === "" ? LayerMediaType.OciLayerGzip : options.mediaType;
    let gzip: boolean;
    if (mediaType === LayerMediaType.OciLayerGzip) gzip = true;
    else if (mediaType === LayerMediaType.OciLayer) gzip = false;
    else throw new NotImplementedError(`unsupported diff media type: ${mediaType}`);

    const only = upper.length === 1 ? upper[0] : undefined;
    const upperdir = only?.type === "overlay" ? overlayDirs(only.options).upper : undefined;
    const isOpaque =
      upperdir === undefined
        ? undefined
        : (path: string) => {
            try {
              return lgetxattr(upperdir + path, "trusted.overlay.opaque")?.toString() === "y";
            } catch {
              return false;
            }
          };

    return withTempMount(this.#tempMountRoot, lower, (lowerRoot) =>
      withTempMount(this.#tempMountRoot, readonlyMounts(upper), async (upperRoot) => {
        const newRef = options.ref === undefined || options.ref === "";
        const ref = newRef ? uniqueRef() : (options.ref as string);
        const writer = await openWriter(this.#store, ctx, { ref });
        let open = true;
        try {
          if (!newRef) await writer.truncate(0);
          const labels: Record<string, string> = { ...options.labels };
          const tar = writeDiff(lowerRoot, upperRoot, { ...(isOpaque === undefined ? {} : { isOpaque }), signal: ctx.signal });
          if (gzip) {
            const hash = createHash("sha256");
            async function* hashed(): AsyncGenerator<Buffer> {
              for await (const chunk of tar) {
                hash.update(chunk);
                yield chunk;
              }
            }
            await pipeline(Readable.from(hashed()), createGzip(), sinkTo(writer), { signal: ctx.signal });
            labels[UNCOMPRESSED_LABEL] = `sha256:${hash.digest("hex")}`;
          } else {
            for await (const chunk of tar) await writer.write(chunk);
          }
          const dgst = writer.digest();
          try {
            open = false;
            await writer.commit(0, dgst, { labels });
          } catch (err) {
            if (!isAlreadyExists(err)) throw withContext(err, "failed to commit");
          }
          const info = await this.#store.info(ctx, dgst);
          const unc = labels[UNCOMPRESSED_LABEL];
          if (unc !== undefined && info.labels[UNCOMPRESSED_LABEL] === undefined) {
            await this.#store.update(ctx, { digest: dgst, labels: { ...info.labels, [UNCOMPRESSED_LABEL]: unc } }, [
              `labels.${UNCOMPRESSED_LABEL}`,
            ]);
          }
          return { mediaType, digest: info.digest, size: info.size };
        } catch (err) {
          if (open) {
            await writer.close().catch(() => undefined);
            if (newRef) {
              await this.#store.abort(ctx, ref).catch((e: unknown) => {
                this.#log.warn("failed to delete diff upload", { ref, error: String(e) });
              });
            }
          }
          throw err;
        }
      }),
    );
  }
}

/** A pipeline destination writing every chunk into a content writer, in order. */
function sinkTo(writer: ContentWriter): (source: AsyncIterable<Buffer>) => Promise<void> {
  return async (source) => {
    for await (const chunk of source) await writer.write(chunk);
  };
}
