/**
 * Waiting for concurrent filesystem steps without leaving any of them running behind an error.
 */

/**
 * Waits until every promise in `steps` has settled (an `undefined` entry stands for a skipped step), then
 * resolves with their values, or rejects with the first rejection in `steps` order. Unlike
 * `Promise.all`, it never rejects while a step is still running, so a caller that cleans up after a
 * failure (removing a directory being built) does not race a step still writing into it.
 */
export async function settleAll<const T extends readonly unknown[]>(steps: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(steps);
  const values: unknown[] = [];
  for (const r of results) {
    if (r.status === "rejected") throw r.reason;
    values.push(r.value);
  }
  return values as { -readonly [K in keyof T]: Awaited<T[K]> };
}
