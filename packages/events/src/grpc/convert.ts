/**
 * The only place that knows the wire shapes of events: {@link EventPayload} ↔ `google.protobuf.Any`,
 * {@link Envelope} ↔ the `Envelope` message (identical numbering in the gRPC and ttrpc packages), and
 * `event.<path>` filter fields of encoded payloads.
 */
import { InvalidArgumentError } from "@containerts/errdefs";
import type { Adaptor } from "@containerts/namespaces";
import type { Any, Timestamp } from "@containerts/api/protobuf";
import * as events from "@containerts/api/events";
import {
  EventTypeUrl,
  decodeAny,
  encodeAny,
  eventFieldValue,
  fromTimestamp,
  isMessageTypeUrl,
  messageCodec,
  packAny,
  toTimestamp,
  type MessageTypeUrl,
} from "@containerts/api/typeurl";
import type { Envelope, EventPayload } from "../index.js";
import { GO_ZERO_TIME_MS } from "../internal/time.js";

/** The `Envelope` message of `containerd.services.events.v1` and `containerd.services.events.ttrpc.v1`. */
export interface WireEnvelope {
  timestamp: Timestamp | undefined;
  namespace: string;
  topic: string;
  event: Any | undefined;
}

/** Fills a partial message of a known event type with the defaults of every field, nested ones too. */
type FromPartial = (partial: never) => unknown;

const eventMessages: Readonly<Record<string, FromPartial>> = {
  [EventTypeUrl.ContainerCreate]: events.ContainerCreate.fromPartial,
  [EventTypeUrl.ContainerUpdate]: events.ContainerUpdate.fromPartial,
  [EventTypeUrl.ContainerDelete]: events.ContainerDelete.fromPartial,
  [EventTypeUrl.ContentDelete]: events.ContentDelete.fromPartial,
  [EventTypeUrl.ImageCreate]: events.ImageCreate.fromPartial,
  [EventTypeUrl.ImageUpdate]: events.ImageUpdate.fromPartial,
  [EventTypeUrl.ImageDelete]: events.ImageDelete.fromPartial,
  [EventTypeUrl.NamespaceCreate]: events.NamespaceCreate.fromPartial,
  [EventTypeUrl.NamespaceUpdate]: events.NamespaceUpdate.fromPartial,
  [EventTypeUrl.NamespaceDelete]: events.NamespaceDelete.fromPartial,
  [EventTypeUrl.SnapshotPrepare]: events.SnapshotPrepare.fromPartial,
  [EventTypeUrl.SnapshotCommit]: events.SnapshotCommit.fromPartial,
  [EventTypeUrl.SnapshotRemove]: events.SnapshotRemove.fromPartial,
  [EventTypeUrl.TaskCreate]: events.TaskCreate.fromPartial,
  [EventTypeUrl.TaskStart]: events.TaskStart.fromPartial,
  [EventTypeUrl.TaskExit]: events.TaskExit.fromPartial,
  [EventTypeUrl.TaskDelete]: events.TaskDelete.fromPartial,
  [EventTypeUrl.TaskExecAdded]: events.TaskExecAdded.fromPartial,
  [EventTypeUrl.TaskExecStarted]: events.TaskExecStarted.fromPartial,
  [EventTypeUrl.TaskPaused]: events.TaskPaused.fromPartial,
  [EventTypeUrl.TaskResumed]: events.TaskResumed.fromPartial,
  [EventTypeUrl.TaskOOM]: events.TaskOOM.fromPartial,
  [EventTypeUrl.TaskCheckpointed]: events.TaskCheckpointed.fromPartial,
};

/** True for the event type URLs of containerd (the messages {@link envelopeFromWire} decodes). */
function isEventTypeUrl(typeUrl: string): boolean {
  return Object.hasOwn(eventMessages, typeUrl);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Deep copy turning every Date into a Timestamp (bytes and bigints are kept as they are). */
function datesToTimestamps(v: unknown): unknown {
  if (v instanceof Date) return toTimestamp(v);
  if (Array.isArray(v)) return v.map(datesToTimestamps);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = datesToTimestamps(x);
  return out;
}

function isTimestamp(v: Record<string, unknown>): boolean {
  const keys = Object.keys(v);
  return keys.length === 2 && typeof v["seconds"] === "bigint" && typeof v["nanos"] === "number";
}

/** Deep copy turning every Timestamp into a Date (milliseconds kept; the rest of the nanoseconds dropped). */
function timestampsToDates(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(timestampsToDates);
  if (!isPlainObject(v)) return v;
  if (isTimestamp(v)) return fromTimestamp(v as unknown as Timestamp).date;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = timestampsToDates(x);
  return out;
}

/**
 * Encodes a payload as an Any. Encoded payloads pass through byte for byte with their type URL. Message
 * payloads are encoded with the registered codec of their type URL: Date fields (`exitedAt`) become
 * Timestamps, and fields left out take their protobuf defaults (for containerd's events, nested messages
 * too).
 *
 * @throws InvalidArgumentError when a message payload's type URL is not registered, or the message
 *   cannot be encoded as that type.
 */
export function payloadToAny(payload: EventPayload): Any {
  if (payload.value !== undefined) return packAny(payload.typeUrl, payload.value);
  const typeUrl = payload.typeUrl;
  if (!isMessageTypeUrl(typeUrl)) {
    throw new InvalidArgumentError(
      `event type ${JSON.stringify(typeUrl)} is not registered: publish it as encoded bytes (value) instead`,
    );
  }
  const wire = datesToTimestamps(payload.message) as Record<string, unknown>;
  try {
    const fromPartial = eventMessages[typeUrl];
    const message =
      fromPartial !== undefined
        ? fromPartial(wire as never)
        : { ...(messageCodec(typeUrl).decode(new Uint8Array(0)) as object), ...wire };
    return encodeAny(typeUrl as MessageTypeUrl, message as never);
  } catch (cause) {
    throw new InvalidArgumentError(`encode event ${typeUrl}`, { cause });
  }
}

/**
 * Turns an Any into a payload. With `decode`, containerd's event messages become message payloads
 * (Timestamps as Dates); everything else (and bytes that do not decode) stays encoded, byte for byte. A
 * missing Any becomes an empty encoded payload with type URL `""`.
 */
export function payloadFromAny(any: Any | undefined, decode = false): EventPayload {
  if (any === undefined) return { typeUrl: "", value: new Uint8Array(0) };
  if (decode && isEventTypeUrl(any.typeUrl)) {
    try {
      const decoded = decodeAny(any);
      return { typeUrl: any.typeUrl, message: timestampsToDates(decoded.message) as Record<string, unknown> };
    } catch {
      // fall through: keep the bytes
    }
  }
  return { typeUrl: any.typeUrl, value: any.value };
}

/**
 * Converts a wire envelope to the domain form. A missing timestamp becomes Go's zero time (which Forward
 * refuses, as containerd does); the event payload stays encoded unless `decode` (see {@link payloadFromAny}).
 *
 * @throws InvalidArgumentError when the timestamp is outside the range a Date holds.
 */
export function envelopeFromWire(envelope: WireEnvelope | undefined, decode = false): Envelope {
  const time =
    envelope?.timestamp === undefined ? { date: new Date(GO_ZERO_TIME_MS), nanos: 0 } : fromTimestamp(envelope.timestamp);
  return {
    timestamp: time.date,
    timestampNanos: time.nanos,
    namespace: envelope?.namespace ?? "",
    topic: envelope?.topic ?? "",
    event: payloadFromAny(envelope?.event, decode),
  };
}

/**
 * Converts a domain envelope to the wire form (timestamp to the nanosecond). `toAny` encodes the payload
 * (default {@link payloadToAny}). An empty payload with type URL `""` is sent as no event at all.
 *
 * @throws InvalidArgumentError when the payload cannot be encoded or the timestamp is invalid.
 */
export function envelopeToWire(envelope: Envelope, toAny: (payload: EventPayload) => Any = payloadToAny): WireEnvelope {
  const e = envelope.event;
  const empty = e.typeUrl === "" && e.value !== undefined && e.value.byteLength === 0;
  return {
    timestamp: toTimestamp({ date: envelope.timestamp, nanos: envelope.timestampNanos ?? 0 }),
    namespace: envelope.namespace,
    topic: envelope.topic,
    event: empty ? undefined : toAny(e),
  };
}

/**
 * A payload encoder that remembers what it encoded (per payload object, weakly), so an envelope sent to
 * many subscribers, or validated at publish and sent later, is encoded once.
 */
export function createPayloadEncoder(): (payload: EventPayload) => Any {
  const cache = new WeakMap<EventPayload, Any>();
  return (payload) => {
    let any = cache.get(payload);
    if (any === undefined) {
      any = payloadToAny(payload);
      cache.set(payload, any);
    }
    return any;
  };
}

/**
 * Reads `event.<path>` filter fields of any payload the way containerd does (its generated `Field`
 * methods): through the registered field tables of containerd's event messages (`container_id`, `id`,
 * `labels.<k>`, `runtime.name`, …), decoding an encoded payload first (once per adaptor). Types without a
 * field table, and bytes that do not decode, have no fields. Suitable as the exchange's `eventFields`.
 */
export function wireEventFields(payload: EventPayload): Adaptor {
  let message: object | null | undefined = payload.message;
  return {
    field(fieldpath) {
      if (message === undefined) {
        try {
          message = payload.value !== undefined && isMessageTypeUrl(payload.typeUrl)
            ? decodeAny({ typeUrl: payload.typeUrl, value: Buffer.from(payload.value.buffer, payload.value.byteOffset, payload.value.byteLength) }).message
            : null;
        } catch {
          message = null;
        }
      }
      return message === null ? undefined : eventFieldValue(payload.typeUrl, message, fieldpath);
    },
  };
}
