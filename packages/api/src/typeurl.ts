/**
 * `google.protobuf.Any` the way containerd 1.6 writes and reads it, plus Timestamp helpers.
 *
 * containerd 1.6 (typeurl v1) packs a protobuf message with its **bare** full name as `type_url`
 * (`containerd.events.TaskExit`, never `type.googleapis.com/containerd.events.TaskExit`) and the
 * protobuf encoding as `value`; a 1.6 decoder does not understand a prefixed URL. OCI runtime-spec values
 * (container spec, exec process, resources) use `types.containerd.io/opencontainers/runtime-spec/1/<Type>`
 * with **JSON** bytes. This module never emits a prefix.
 *
 * The registry covers every message generated from this package's .proto files (events, runc options and
 * process details, cgroups v1/v2 metrics, every service message, the well-known types).
 * @module
 */
import { InvalidArgumentError } from "@containerts/errdefs";
import { Any } from "./gen/google/protobuf/any.js";
import type { Timestamp } from "./gen/google/protobuf/timestamp.js";
import {
  fieldpathMessages,
  messageTypes,
  type FieldpathField,
  type MessageCodec,
  type MessageTypeMap,
} from "./gen/registry.js";

export type { MessageCodec, MessageTypeMap } from "./gen/registry.js";

/** Type URL of a registered protobuf message: its full protobuf name, without prefix. */
export type MessageTypeUrl = keyof MessageTypeMap;

/** Type URLs of the OCI runtime-spec values containerd packs as JSON. */
export const SpecTypeUrl = {
  /** The container's runtime spec (`Container.spec`). */
  Spec: "types.containerd.io/opencontainers/runtime-spec/1/Spec",
  /** An exec process (`ExecProcessRequest.spec`). */
  Process: "types.containerd.io/opencontainers/runtime-spec/1/Process",
  /** Linux resources (`UpdateTaskRequest.resources`). */
  LinuxResources: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources",
  /** Windows resources (`UpdateTaskRequest.resources` on Windows). */
  WindowsResources: "types.containerd.io/opencontainers/runtime-spec/1/WindowsResources",
} as const;
/** One of the runtime-spec type URLs. */
export type SpecTypeUrl = (typeof SpecTypeUrl)[keyof typeof SpecTypeUrl];

/** Type URLs of every event containerd publishes, keyed by message name (the topic is in the TSDoc). */
export const EventTypeUrl = {
  /** `/containers/create` */
  ContainerCreate: "containerd.events.ContainerCreate",
  /** `/containers/update` */
  ContainerUpdate: "containerd.events.ContainerUpdate",
  /** `/containers/delete` */
  ContainerDelete: "containerd.events.ContainerDelete",
  /** `/content/delete` */
  ContentDelete: "containerd.events.ContentDelete",
  /** `/images/create` (image events live in the images service package) */
  ImageCreate: "containerd.services.images.v1.ImageCreate",
  /** `/images/update` */
  ImageUpdate: "containerd.services.images.v1.ImageUpdate",
  /** `/images/delete` */
  ImageDelete: "containerd.services.images.v1.ImageDelete",
  /** `/namespaces/create` */
  NamespaceCreate: "containerd.events.NamespaceCreate",
  /** `/namespaces/update` */
  NamespaceUpdate: "containerd.events.NamespaceUpdate",
  /** `/namespaces/delete` */
  NamespaceDelete: "containerd.events.NamespaceDelete",
  /** `/snapshot/prepare` */
  SnapshotPrepare: "containerd.events.SnapshotPrepare",
  /** `/snapshot/commit` */
  SnapshotCommit: "containerd.events.SnapshotCommit",
  /** `/snapshot/remove` */
  SnapshotRemove: "containerd.events.SnapshotRemove",
  /** `/tasks/create` */
  TaskCreate: "containerd.events.TaskCreate",
  /** `/tasks/start` */
  TaskStart: "containerd.events.TaskStart",
  /** `/tasks/exit` */
  TaskExit: "containerd.events.TaskExit",
  /** `/tasks/delete` */
  TaskDelete: "containerd.events.TaskDelete",
  /** `/tasks/exec-added` */
  TaskExecAdded: "containerd.events.TaskExecAdded",
  /** `/tasks/exec-started` */
  TaskExecStarted: "containerd.events.TaskExecStarted",
  /** `/tasks/paused` */
  TaskPaused: "containerd.events.TaskPaused",
  /** `/tasks/resumed` */
  TaskResumed: "containerd.events.TaskResumed",
  /** `/tasks/oom` */
  TaskOOM: "containerd.events.TaskOOM",
  /** `/tasks/checkpointed` */
  TaskCheckpointed: "containerd.events.TaskCheckpointed",
} as const satisfies Record<string, MessageTypeUrl>;
/** One of the event type URLs. */
export type EventTypeUrl = (typeof EventTypeUrl)[keyof typeof EventTypeUrl];

/** Type URLs of the runc shim's protobuf payloads. */
export const RuncTypeUrl = {
  /** Runtime and task-create options (`Container.runtime.options`, `CreateTaskRequest.options`). */
  Options: "containerd.runc.v1.Options",
  /** Checkpoint options (`CheckpointTaskRequest.options`). */
  CheckpointOptions: "containerd.runc.v1.CheckpointOptions",
  /** Exec details of a listed process (`ProcessInfo.info`). */
  ProcessDetails: "containerd.runc.v1.ProcessDetails",
} as const satisfies Record<string, MessageTypeUrl>;
/** One of the runc type URLs. */
export type RuncTypeUrl = (typeof RuncTypeUrl)[keyof typeof RuncTypeUrl];

/** Type URLs of task metrics payloads (`Metric.data`, shim `StatsResponse.stats`). */
export const CgroupsTypeUrl = {
  /** Metrics on a cgroup v1 host. */
  MetricsV1: "io.containerd.cgroups.v1.Metrics",
  /** Metrics on a cgroup v2 host. */
  MetricsV2: "io.containerd.cgroups.v2.Metrics",
} as const satisfies Record<string, MessageTypeUrl>;
/** One of the cgroups metrics type URLs. */
export type CgroupsTypeUrl = (typeof CgroupsTypeUrl)[keyof typeof CgroupsTypeUrl];

/** A decoded Any: the type URL and the message, narrowed together (switch on `typeUrl`). */
export type DecodedAny = {
  [U in MessageTypeUrl]: { readonly typeUrl: U; readonly message: MessageTypeMap[U] };
}[MessageTypeUrl];

const specTypeUrls: ReadonlySet<string> = new Set(Object.values(SpecTypeUrl));

/** Packs raw bytes under a type URL, as given (no prefix is added). */
export function packAny(typeUrl: string, value: Uint8Array): Any {
  return { typeUrl, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
}

/** True when `typeUrl` names a message of the registry. */
export function isMessageTypeUrl(typeUrl: string): typeUrl is MessageTypeUrl {
  return Object.hasOwn(messageTypes, typeUrl);
}

/**
 * The codec registered for a type URL.
 * @throws InvalidArgumentError when the type URL is not registered.
 */
export function messageCodec<U extends MessageTypeUrl>(typeUrl: U): MessageCodec<MessageTypeMap[U]>;
export function messageCodec(typeUrl: string): MessageCodec<unknown>;
export function messageCodec(typeUrl: string): MessageCodec<unknown> {
  if (!isMessageTypeUrl(typeUrl)) throw new InvalidArgumentError(`type with url ${JSON.stringify(typeUrl)} is not registered`);
  return messageTypes[typeUrl] as MessageCodec<unknown>;
}

/** Encodes a registered message into an Any whose type URL is the bare message name. */
export function encodeAny<U extends MessageTypeUrl>(typeUrl: U, message: MessageTypeMap[U]): Any {
  const codec = messageCodec(typeUrl);
  return { typeUrl, value: Buffer.from(codec.encode(message).finish()) };
}

/**
 * Decodes an Any holding a registered protobuf message.
 * @throws InvalidArgumentError when the type URL is not registered (a `type.googleapis.com/` prefix is not
 *   accepted, as in containerd 1.6) or the bytes are not a valid encoding of that message.
 */
export function decodeAny(any: Any): DecodedAny {
  const codec = messageCodec(any.typeUrl);
  let message: unknown;
  try {
    message = codec.decode(any.value);
  } catch (cause) {
    throw new InvalidArgumentError(`decode ${any.typeUrl}`, { cause });
  }
  return { typeUrl: any.typeUrl, message } as DecodedAny;
}

/**
 * Decodes an Any that must hold one given message type.
 * @throws InvalidArgumentError when the Any holds another type or its bytes are invalid.
 */
export function decodeAnyAs<U extends MessageTypeUrl>(any: Any, typeUrl: U): MessageTypeMap[U] {
  if (any.typeUrl !== typeUrl) {
    throw new InvalidArgumentError(`expected type url ${typeUrl}, got ${JSON.stringify(any.typeUrl)}`);
  }
  return decodeAny(any).message as MessageTypeMap[U];
}

/**
 * Packs a runtime-spec value as JSON under its spec type URL (what containerd stores in `Container.spec`).
 * @throws InvalidArgumentError when the value cannot be serialized to JSON.
 */
export function packJson(typeUrl: SpecTypeUrl, value: unknown): Any {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (cause) {
    throw new InvalidArgumentError(`encode ${typeUrl} as json`, { cause });
  }
  if (json === undefined) throw new InvalidArgumentError(`encode ${typeUrl} as json: value is not serializable`);
  return { typeUrl, value: Buffer.from(json, "utf8") };
}

/**
 * Parses the JSON of a runtime-spec Any. The result is unvalidated JSON: check its shape before use.
 * @throws InvalidArgumentError when the type URL is not a spec type URL or the bytes are not JSON.
 */
export function unpackJson(any: Any): unknown {
  if (!specTypeUrls.has(any.typeUrl)) {
    throw new InvalidArgumentError(`type with url ${JSON.stringify(any.typeUrl)} is not a json type`);
  }
  try {
    return JSON.parse(Buffer.from(any.value).toString("utf8")) as unknown;
  } catch (cause) {
    throw new InvalidArgumentError(`decode ${any.typeUrl} as json`, { cause });
  }
}

/**
 * A wall-clock instant with nanosecond precision: `date` holds it to the millisecond, `nanos` the
 * nanoseconds within that millisecond (an integer in 0–999 999). containerd keeps nanoseconds in its
 * timestamps (`2026-11-28T11:57:56.39754602Z`); a `Date` alone would drop the last six digits.
 */
export interface PreciseTime {
  readonly date: Date;
  readonly nanos: number;
}

const msPerSecond = 1000;
const nanosPerMs = 1_000_000;
/** The largest |milliseconds| a Date can hold. */
const maxDateMs = 8.64e15;

/**
 * Converts a Date (millisecond precision) or a PreciseTime to a protobuf Timestamp.
 * @throws InvalidArgumentError for an invalid Date or nanos outside 0–999 999.
 */
export function toTimestamp(time: Date | PreciseTime): Timestamp {
  const date = time instanceof Date ? time : time.date;
  const subMs = time instanceof Date ? 0 : time.nanos;
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new InvalidArgumentError("timestamp: invalid date");
  if (!Number.isInteger(subMs) || subMs < 0 || subMs >= nanosPerMs) {
    throw new InvalidArgumentError(`timestamp: nanos ${subMs} is not an integer in [0, 999999]`);
  }
  const seconds = Math.floor(ms / msPerSecond);
  const msInSecond = ms - seconds * msPerSecond;
  return { seconds: BigInt(seconds), nanos: msInSecond * nanosPerMs + subMs };
}

/**
 * Converts a protobuf Timestamp to a PreciseTime, keeping every nanosecond. containerd's zero time
 * (`seconds = -62135596800`, year 1) converts like any other instant.
 * @throws InvalidArgumentError when nanos is outside 0–999 999 999 or the instant is outside Date's range.
 */
export function fromTimestamp(ts: Timestamp): PreciseTime {
  if (!Number.isInteger(ts.nanos) || ts.nanos < 0 || ts.nanos >= msPerSecond * nanosPerMs) {
    throw new InvalidArgumentError(`timestamp: nanos ${ts.nanos} is not an integer in [0, 999999999]`);
  }
  const ms = ts.seconds * BigInt(msPerSecond) + BigInt(Math.floor(ts.nanos / nanosPerMs));
  if (ms > BigInt(maxDateMs) || ms < -BigInt(maxDateMs)) {
    throw new InvalidArgumentError(`timestamp: seconds ${ts.seconds} is out of range`);
  }
  return { date: new Date(Number(ms)), nanos: ts.nanos % nanosPerMs };
}

function isAny(value: unknown): value is Any {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { typeUrl?: unknown }).typeUrl === "string" &&
    (value as { value?: unknown }).value instanceof Uint8Array
  );
}

/**
 * The string value of an event field, by field path, as containerd's event filters see it
 * (`event.<path>` in a Subscribe filter). Path elements are proto field names (`container_id`,
 * `exec_id`, `runtime`, `name`, …). Rules follow containerd's generated `Field` adaptors:
 * - a string field is present when non-empty; a bool field is always present (`"true"`/`"false"`);
 * - `labels.<k>` looks up the label key made of the remaining elements joined with `.`;
 * - a nested message or an Any (decoded through the registry) is followed when it has an adaptor itself;
 * - numbers, timestamps and repeated fields are not filterable (undefined).
 *
 * Messages with an adaptor: every event (`EventTypeUrl`) with its nested messages, and both `Envelope`s
 * (`namespace`, `topic`, `event.<path>`). Any other type URL gives undefined. Never throws.
 */
export function eventFieldValue(typeUrl: string, message: object, fieldpath: readonly string[]): string | undefined {
  const table = fieldpathMessages[typeUrl];
  const [head, ...rest] = fieldpath;
  if (table === undefined || head === undefined || !Object.hasOwn(table, head)) return undefined;
  const field: FieldpathField | undefined = table[head];
  if (field === undefined) return undefined;
  const value: unknown = (message as Record<string, unknown>)[field.key];
  switch (field.kind) {
    case "string":
      return typeof value === "string" && value.length > 0 ? value : undefined;
    case "bool":
      return typeof value === "boolean" ? String(value) : undefined;
    case "labels": {
      if (typeof value !== "object" || value === null) return undefined;
      const key = rest.join(".");
      const label: unknown = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
      return typeof label === "string" ? label : undefined;
    }
    case "message":
      if (typeof value !== "object" || value === null || field.type === undefined) return undefined;
      return eventFieldValue(field.type, value, rest);
    case "any": {
      if (!isAny(value) || !isMessageTypeUrl(value.typeUrl) || fieldpathMessages[value.typeUrl] === undefined) {
        return undefined;
      }
      let decoded: DecodedAny;
      try {
        decoded = decodeAny(value);
      } catch {
        return undefined;
      }
      return eventFieldValue(decoded.typeUrl, decoded.message, rest);
    }
  }
}
