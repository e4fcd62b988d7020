/**
 * Test fixture: temporary directories that are cleaned up with every mount below them, even after a
 * failed test. Not part of the package's build.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MNT } from "../constants.js";
import { unmountAll } from "../mount.js";
import { mountsUnder } from "../mountinfo.js";

/** A set of temp dirs; `cleanup()` (for afterEach) unmounts everything below them, then removes them. */
export class Scratch {
  readonly #dirs: string[] = [];

  /** Creates a fresh temp directory under the system temp dir. */
  dir(label = "t"): string {
    const d = mkdtempSync(join(tmpdir(), `containerts-sys-${label}-`));
    this.#dirs.push(d);
    return d;
  }

  /** Unmounts every mount below each dir (deepest last-mounted first), then deletes the dirs. */
  cleanup(): void {
    const errors: unknown[] = [];
    for (const d of this.#dirs.splice(0).reverse()) {
      for (const m of mountsUnder(d).reverse()) {
        try {
          unmountAll(m, MNT.DETACH);
        } catch (err) {
          errors.push(err);
        }
      }
      const left = mountsUnder(d);
      if (left.length > 0) {
        // Never recurse into a directory that still has mounts: rm would delete the mounted data.
        errors.push(new Error(`mounts left under ${d}: ${left.join(", ")}`));
        continue;
      }
      rmSync(d, { recursive: true, force: true });
    }
    if (errors.length > 0) throw new AggregateError(errors, "scratch cleanup failed");
  }
}
