/**
 * Event subscriptions with the payloads left encoded, for callers that print events as containerd's Go
 * tools do (nanosecond times, every field): `for await (const e of subscribeEvents(client, ctx, filters))
 * console.log(goTimeString(e.timestamp, e.timestampNanos), e.namespace, e.topic, eventJson(e.event))`.
 */
import type { Envelope } from "@containerts/events";
import { ProxyExchange, type ProxyTarget } from "@containerts/events/proxy";
import type { Context } from "@containerts/namespaces";

/** Options of {@link subscribeEvents}. */
export interface SubscribeEventsOptions {
  /** Decode containerd's event messages (times as millisecond Dates). Default false: payloads stay bytes. */
  readonly decode?: boolean;
}

/**
 * Subscribes to the daemon's events matching any of `filters` (containerd's filter language over
 * `topic`, `namespace`, `event.<field>`; none = all, every namespace). The iterator ends when
 * `ctx.signal` aborts.
 * @throws InvalidArgumentError `failed parsing subscription filters: …` for a malformed filter; the
 *   daemon's errors.
 */
export async function* subscribeEvents(
  client: { readonly target: ProxyTarget },
  ctx: Context,
  filters: readonly string[] = [],
  options: SubscribeEventsOptions = {},
): AsyncIterable<Envelope> {
  // A channel of its own: closing a client on the shared channel would close the shared channel.
  const { channelOverride: _shared, ...channelOptions } = client.target.options;
  const exchange = new ProxyExchange({ ...client.target, options: channelOptions }, { decode: options.decode ?? false });
  try {
    yield* exchange.subscribe(ctx, filters);
  } finally {
    exchange.close();
  }
}
