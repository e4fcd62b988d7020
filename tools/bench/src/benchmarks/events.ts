/**
 * Benchmark: events per second through a daemon's Events service — published over gRPC, delivered to a
 * gRPC subscriber. Called by the benchmark runner (`tools/bench`) with the daemon's socket path.
 */
import { randomBytes } from "node:crypto";
import { credentials } from "@grpc/grpc-js";
import { background, withNamespace } from "@containerts/namespaces";
import { ProxyExchange } from "@containerts/events/proxy";
import type { EventPayload } from "@containerts/events";

/** Options of {@link benchEventsPerSecond}. */
export interface BenchEventsOptions {
  /** Events to publish (default 20 000). */
  readonly events?: number;
  /** Publish calls in flight at once (default 32). */
  readonly concurrency?: number;
  /**
   * The most events published but not yet delivered (default 256). The daemon drops a subscriber that
   * falls more than its queue size (1024 by default) behind, so the publishers pace themselves on the
   * deliveries: the result is the sustained rate, not a burst into the queue.
   */
  readonly window?: number;
  /** Gives up after this long, in ms (default 120 000). */
  readonly timeoutMs?: number;
}

/** A `containerd.events.TaskOOM{container_id: "bench"}`, encoded (as a shim sends it). */
const payload: EventPayload = {
  typeUrl: "containerd.events.TaskOOM",
  value: Uint8Array.from([0x0a, 0x05, ...Buffer.from("bench")]),
};

/**
 * Publishes `events` events (a `/bench/…` topic unique to this run, namespace `bench`) through the
 * daemon at `address` (a unix socket path, or a gRPC target such as `unix:///run/x.sock`) and counts
 * their deliveries on one subscriber filtered to that topic. Returns delivered events per second, from
 * the first publish to the last delivery.
 *
 * The subscription is confirmed live first (probe events on a second topic until one arrives), so no
 * event is missed for lack of a subscriber. Rejects when a publish fails, the subscriber is dropped as
 * too slow (ResourceExhausted), or the run takes longer than `timeoutMs`.
 */
export async function benchEventsPerSecond(address: string, options: BenchEventsOptions = {}): Promise<number> {
  const total = options.events ?? 20_000;
  const concurrency = options.concurrency ?? 32;
  const window = options.window ?? 256;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const target = address.includes("://") || address.startsWith("unix:") ? address : `unix://${address}`;
  const exchange = new ProxyExchange({ address: target, credentials: credentials.createInsecure(), options: {} }, { decode: false });
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`events benchmark did not finish within ${timeoutMs} ms`)), timeoutMs);
  const ctx = withNamespace(background(ac.signal), "bench");
  const run = randomBytes(6).toString("hex");
  const topic = `/bench/events-${run}`;
  const probeTopic = `/bench/probe-${run}`;

  let live!: () => void;
  const subscribed = new Promise<void>((resolve) => (live = resolve));
  let delivered = 0;
  let finished!: () => void;
  const allDelivered = new Promise<void>((resolve) => (finished = resolve));
  let waiters: (() => void)[] = [];
  const consume = (async () => {
    for await (const env of exchange.subscribe(ctx, [`topic==${JSON.stringify(topic)}`, `topic==${JSON.stringify(probeTopic)}`])) {
      if (env.topic === probeTopic) {
        live();
        continue;
      }
      delivered++;
      const wake = waiters;
      waiters = [];
      for (const w of wake) w();
      if (delivered === total) {
        finished();
        return;
      }
    }
    throw new Error(`events benchmark: subscription ended after ${delivered} of ${total} events`);
  })();
  consume.catch(() => undefined);
  // The consumer never returns before every event arrived; if it fails, racing it rejects the waiters.

  try {
    // Probe until the subscription is live on the daemon.
    let probing = true;
    void subscribed.then(() => (probing = false));
    while (probing) {
      await exchange.publish(ctx, probeTopic, payload);
      await Promise.race([subscribed, new Promise((r) => setTimeout(r, 50)), consume]);
    }

    const started = process.hrtime.bigint();
    let next = 0;
    const publisher = async () => {
      while (next < total) {
        if (next - delivered >= window) {
          await Promise.race([new Promise<void>((r) => waiters.push(r)), consume]);
          continue;
        }
        next++;
        await exchange.publish(ctx, topic, payload);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, total) }, publisher));
    await Promise.race([allDelivered, consume]);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return total / seconds;
  } catch (err) {
    throw ac.signal.aborted ? ac.signal.reason : err;
  } finally {
    clearTimeout(timer);
    ac.abort();
    await consume.catch(() => undefined);
    exchange.close();
  }
}

/** Issue 6's events benchmark for the runner. */
export const eventsPerSecond: import("../types.js").Benchmark = {
  id: "events-per-second",
  title: "events delivered per second (gRPC Publish → gRPC Subscribe)",
  issue: 6,
  better: "higher",
  target: "daemons",
  async run(ctx) {
    const rate = await benchEventsPerSecond(ctx.daemon!.address, { events: 20_000 });
    return { value: rate, unit: "events/s", note: "20 000 events, 32 publishers in flight, one filtered subscriber" };
  },
};
