/** Filter adaptors of content objects, shared by the store implementations (containerd's `content/adaptor.go`). */
import type { Adaptor } from "@containerts/namespaces";

import type { ContentInfo, IngestStatus } from "./content.js";

/**
 * Filter fields of a blob: `digest`, `labels.<key>` (the rest of the path joined with `.`);
 * `size` is recognised but never matches, as upstream.
 */
export function contentInfoAdaptor(info: ContentInfo): Adaptor {
  return {
    field(path: readonly string[]): string | undefined {
      const [head, ...rest] = path;
      switch (head) {
        case "digest":
          return info.digest;
        case "labels": {
          if (rest.length === 0) return undefined;
          const key = rest.join(".");
          return Object.hasOwn(info.labels, key) ? info.labels[key] : undefined;
        }
        default:
          return undefined;
      }
    },
  };
}

/** Filter fields of an ingest: `ref`. */
export function ingestStatusAdaptor(status: IngestStatus): Adaptor {
  return {
    field(path: readonly string[]): string | undefined {
      return path.length === 1 && path[0] === "ref" ? status.ref : undefined;
    },
  };
}
