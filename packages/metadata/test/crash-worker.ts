/**
 * The child side of the crash test (loaded from TypeScript source by `crash-child.mjs`): opens a
 * classic-level metadata database in `dir` and performs durable updates from several concurrent
 * loops until it is killed. After each update resolves, its number is appended to `ackFile`.
 */
import { appendFileSync } from "node:fs";

import { Level } from "level";

import { DB, key } from "../src/index.js";

/** Runs until the process is killed. */
export async function run(dir: string, ackFile: string): Promise<never> {
  const level = new Level<string, string>(dir);
  const db = await DB.open(level);
  const leases = db.leaseManager();
  let next = 0;
  const loop = async (): Promise<never> => {
    for (;;) {
      const i = next++;
      if (i % 10 === 0) {
        // A real store write now and then (lease ids are free-form).
        await leases.create({ namespace: "crash", signal: new AbortController().signal }, { id: `lease-${i}` });
      } else {
        await db.update((tx) => tx.put(key("crash", String(i).padStart(8, "0")), `value-${i}`));
      }
      appendFileSync(ackFile, `${i}\n`);
    }
  };
  return Promise.race(Array.from({ length: 8 }, loop));
}
