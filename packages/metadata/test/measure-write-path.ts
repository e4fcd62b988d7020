/**
 * Measures the write path on a real classic-level database (run: `node test/measure-write-path.mjs`):
 * update throughput with group commit, batches per update, and how busy the database-wide write mutex
 * is (time inside update functions / wall time). If the mutex is idle most of the time, a
 * per-namespace mutex cannot buy more than that share: the synced write is the bottleneck.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Level } from "level";

import { DB, key } from "../src/index.js";

export async function measure(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "containerts-metadata-measure-"));
  const lines: string[] = [];
  try {
    for (const concurrency of [1, 8, 64, 256]) {
      const db = await DB.open(new Level<string, string>(join(dir, `c${concurrency}`)));
      const total = concurrency === 1 ? 300 : 3000;
      let inFn = 0;
      let next = 0;
      const before = db.writeStats();
      const t0 = performance.now();
      const worker = async () => {
        for (;;) {
          const i = next++;
          if (i >= total) return;
          const ns = `ns${i % 8}`;
          await db.update(async (tx) => {
            const s = performance.now();
            // Shaped like a content commit: a few reads, a few writes.
            await tx.get(key("v1", "namespaces", ns));
            await tx.get(key("v1", "ns", ns, "content", "blob", `d${i}`));
            await tx.get(key("v1", "ns", ns, "content", "ingest", `r${i}`));
            tx.put(key("v1", "ns", ns, "content", "blob", `d${i}`), JSON.stringify({ size: i, labels: {} }));
            tx.del(key("v1", "ns", ns, "content", "ingest", `r${i}`));
            tx.put(key("v1", "ns", ns, "lease-resources", "l", "content", `d${i}`), "");
            inFn += performance.now() - s;
          });
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const wall = performance.now() - t0;
      const after = db.writeStats();
      const batches = after.batches - before.batches;
      lines.push(
        `concurrency ${String(concurrency).padStart(3)}: ${total} updates in ${wall.toFixed(0)} ms = ` +
          `${((total / wall) * 1000).toFixed(0)} updates/s, ${batches} synced batches ` +
          `(${(total / batches).toFixed(1)} updates/batch), mutex busy ${((inFn / wall) * 100).toFixed(1)}% ` +
          `(${((inFn / total) * 1000).toFixed(1)} µs/update inside the lock)`,
      );
      await db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return lines.join("\n");
}
