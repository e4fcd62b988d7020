import type { Descriptor } from "@containerts/content";
import { NotImplementedError, isNotImplemented } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import type { Mount } from "@containerts/snapshots";
import type { ApplyOptions, CompareOptions, DiffService } from "./diff.js";

/**
 * The diff service over an ordered list of differs (containerd's `services/diff` local service): each
 * call goes to the first differ, then to the next while a differ answers NotImplemented.
 * With no differs every call throws NotImplementedError.
 */
export function createDiffService(differs: readonly DiffService[]): DiffService {
  async function first<T>(what: string, call: (d: DiffService) => Promise<T>): Promise<T> {
    let last: unknown = new NotImplementedError(`no differ supports ${what}`);
    for (const d of differs) {
      try {
        return await call(d);
      } catch (err) {
        if (!isNotImplemented(err)) throw err;
        last = err;
      }
    }
    throw last;
  }
  return {
    apply: (ctx: Context, desc: Descriptor, mounts: readonly Mount[], options?: ApplyOptions) =>
      first("apply", (d) => d.apply(ctx, desc, mounts, options)),
    compare: (ctx: Context, lower: readonly Mount[], upper: readonly Mount[], options?: CompareOptions) =>
      first("compare", (d) => d.compare(ctx, lower, upper, options)),
  };
}
