/**
 * The in-process event exchange (containerd's `events/exchange`): publish, forward, and filtered
 * subscriptions with bounded queues.
 */
import { InvalidArgumentError, ResourceExhaustedError, withContext } from "@containerts/errdefs";
import {
  type Adaptor,
  type Context,
  type Filter,
  adaptFields,
  adaptPrefix,
  namespaceRequired,
  parseFilters,
  quoteFilterString,
  validateIdentifier,
} from "@containerts/namespaces";
import type { Envelope, EventPayload, Exchange } from "../index.js";
import { validateTopic } from "../topic.js";
import { type Clock, createClock, isZeroTime } from "../internal/time.js";
import { messageEventFields } from "./event-fields.js";
import { Subscription } from "./subscription.js";

/** How many envelopes may wait for one subscriber before it is dropped, unless configured otherwise. */
export const DEFAULT_QUEUE_SIZE = 1024;

/** Options of {@link createExchange}; every field is optional. */
export interface ExchangeOptions {
  /**
   * Reads `event.<path>` filter fields from a payload. Default: {@link messageEventFields} (message
   * payloads by field name; encoded payloads have no fields). Called at most once per envelope, and only
   * when some subscriber's filter looks at an `event.` path. If it throws, the fields are absent.
   */
  readonly eventFields?: (payload: EventPayload) => Adaptor;
  /**
   * The most envelopes queued for one subscriber (an integer ≥ 1, default {@link DEFAULT_QUEUE_SIZE}).
   * A subscriber with a full queue that is sent one more is dropped: its iterator throws
   * ResourceExhaustedError.
   */
  readonly queueSize?: number;
  /**
   * Checks a payload before it is published or forwarded (for example that it can be encoded); what it
   * throws rejects the call. Default: none.
   */
  readonly validatePayload?: (payload: EventPayload) => void;
  /** The wall clock that stamps published envelopes. Default: the system time, to the nanosecond. */
  readonly clock?: Clock;
}

/** Counters of a {@link LocalExchange}. */
export interface ExchangeStats {
  /** Active subscriptions. */
  readonly subscribers: number;
  /** Envelopes queued across all subscriptions (never more than `subscribers × queueSize`). */
  readonly queued: number;
}

/**
 * The in-process exchange: an {@link Exchange} plus counters and shutdown.
 *
 * Publishing and forwarding never wait for subscribers: matching envelopes are queued per subscriber, in
 * publish order, and a subscriber whose queue is full is dropped (its iterator throws
 * ResourceExhaustedError and its queue is released), so memory stays bounded by
 * `subscribers × queueSize` envelopes. Subscriptions receive what is published after `subscribe`
 * returns; nothing is replayed.
 */
export interface LocalExchange extends Exchange {
  /** Current counters. */
  stats(): ExchangeStats;
  /**
   * Ends every subscription (their iterators finish normally). Later subscriptions end at once and later
   * events reach no one. Idempotent.
   */
  close(): void;
}

interface ResolvedExchangeOptions {
  readonly eventFields: (payload: EventPayload) => Adaptor;
  readonly queueSize: number;
  readonly validatePayload: ((payload: EventPayload) => void) | undefined;
  readonly clock: Clock;
}

/**
 * Resolves {@link ExchangeOptions} to their defaults.
 * @throws InvalidArgumentError when `queueSize` is not an integer ≥ 1.
 */
export function resolveExchangeOptions(options: ExchangeOptions = {}): ResolvedExchangeOptions {
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  if (!Number.isSafeInteger(queueSize) || queueSize < 1) {
    throw new InvalidArgumentError(`events queue size ${String(queueSize)} must be an integer of at least 1`);
  }
  return {
    eventFields: options.eventFields ?? messageEventFields,
    queueSize,
    validatePayload: options.validatePayload,
    clock: options.clock ?? createClock(),
  };
}

const quote = quoteFilterString;

const noFields: Adaptor = Object.freeze({ field: () => undefined });

function checkedTopic(topic: string): void {
  try {
    validateTopic(topic);
  } catch (err) {
    throw withContext(err, `envelope topic ${quote(topic)}`);
  }
}

/** The filter-visible fields of an envelope: `namespace`, `topic` and, lazily, `event.<path>`. */
function envelopeAdaptor(envelope: Envelope, eventFields: (payload: EventPayload) => Adaptor): Adaptor {
  let fields: Adaptor | undefined;
  const event: Adaptor = {
    field(fieldpath) {
      if (fields === undefined) {
        try {
          fields = eventFields(envelope.event);
        } catch {
          fields = noFields;
        }
      }
      try {
        return fields.field(fieldpath);
      } catch {
        return undefined;
      }
    },
  };
  const base = adaptFields({ namespace: envelope.namespace || undefined, topic: envelope.topic || undefined });
  return adaptPrefix(base, { event });
}

/**
 * Creates an in-process event exchange (see {@link LocalExchange} for delivery guarantees).
 *
 * - `publish` stamps the envelope with the current time (nanosecond precision) and the context's
 *   namespace. Errors: FailedPreconditionError `failed publishing event: namespace is required`;
 *   InvalidArgumentError `failed publishing event: namespace validation: …` or
 *   `envelope topic "<t>": …` (see {@link validateTopic}).
 * - `forward` delivers an envelope built elsewhere unchanged. Errors (InvalidArgumentError):
 *   `event envelope has invalid namespace: …`, `envelope topic "<t>": …`,
 *   `timestamp must be set on forwarded event` (Go's zero time or an invalid Date).
 * - `subscribe` filters on `namespace`, `topic` and `event.<path>`; its iterator throws
 *   InvalidArgumentError `failed parsing subscription filters: filters: parse error: …` for a malformed
 *   filter, ResourceExhaustedError when the subscriber is dropped, and ends when `ctx.signal` aborts.
 *
 * @throws InvalidArgumentError for invalid options (see {@link resolveExchangeOptions}).
 */
export function createExchange(options: ExchangeOptions = {}): LocalExchange {
  const { eventFields, queueSize, validatePayload, clock } = resolveExchangeOptions(options);
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const broadcast = (envelope: Envelope): void => {
    if (subscriptions.size === 0) return;
    let adaptor: Adaptor | undefined;
    for (const s of subscriptions) {
      adaptor ??= envelopeAdaptor(envelope, eventFields);
      if (s.filter.match(adaptor)) s.deliver(envelope);
    }
  };

  const overflow = () =>
    new ResourceExhaustedError(`events subscriber dropped: more than ${queueSize} events waiting to be received`);
  const detach = (s: Subscription) => void subscriptions.delete(s);

  return {
    async publish(ctx: Context, topic: string, event: EventPayload): Promise<void> {
      let namespace: string;
      try {
        namespace = namespaceRequired(ctx);
      } catch (err) {
        throw withContext(err, "failed publishing event");
      }
      checkedTopic(topic);
      validatePayload?.(event);
      const now = clock();
      broadcast(Object.freeze({ timestamp: now.date, timestampNanos: now.nanos, namespace, topic, event }));
    },

    async forward(_ctx: Context, envelope: Envelope): Promise<void> {
      try {
        validateIdentifier(envelope.namespace);
      } catch (err) {
        throw withContext(err, "event envelope has invalid namespace");
      }
      checkedTopic(envelope.topic);
      const nanos = envelope.timestampNanos ?? 0;
      if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999) {
        throw new InvalidArgumentError(`envelope timestamp nanos ${nanos} is not an integer in [0, 999999]`);
      }
      if (isZeroTime(envelope.timestamp, nanos)) {
        throw new InvalidArgumentError("timestamp must be set on forwarded event");
      }
      validatePayload?.(envelope.event);
      broadcast(
        Object.freeze({
          timestamp: envelope.timestamp,
          timestampNanos: nanos,
          namespace: envelope.namespace,
          topic: envelope.topic,
          event: envelope.event,
        }),
      );
    },

    subscribe(ctx: Context, filters: readonly string[] = []): AsyncIterable<Envelope> {
      let filter: Filter;
      try {
        filter = parseFilters(filters);
      } catch (err) {
        const failure = withContext(err, "failed parsing subscription filters");
        return {
          async *[Symbol.asyncIterator]() {
            throw failure;
          },
        };
      }
      const s = new Subscription({ filter, limit: queueSize, overflow, detach, signal: ctx.signal });
      if (closed || ctx.signal.aborted) s.end();
      else subscriptions.add(s);
      return s;
    },

    stats(): ExchangeStats {
      let queued = 0;
      for (const s of subscriptions) queued += s.queued;
      return { subscribers: subscriptions.size, queued };
    },

    close(): void {
      closed = true;
      for (const s of [...subscriptions]) s.end();
    },
  };
}
