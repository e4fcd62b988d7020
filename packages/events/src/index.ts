/**
 * Events: containerd's pub/sub model. Services publish events on topics (`/containers/create`, …) in a
 * namespace; shims forward envelopes they built themselves; subscribers receive envelopes filtered with
 * containerd's filter language (`topic`, `namespace`, `event.<field>`).
 *
 * Events are domain values, not wire types: an {@link EventPayload} names its protobuf type URL (the bare
 * message name containerd uses, e.g. `containerd.events.ContainerCreate`) and carries either the message as
 * a plain object (field names in camelCase as ts-proto generates them; times as {@link Date}) or, for
 * events forwarded from shims, the already-encoded bytes (passed on byte for byte). Encoding happens at
 * the gRPC/ttrpc edge (`@containerts/events/grpc`).
 * @module
 */
import type { Context } from "@containerts/namespaces";

/** An event: its type URL and its fields as an object, or its encoded protobuf bytes. */
export type EventPayload =
  | { readonly typeUrl: string; readonly message: Readonly<Record<string, unknown>>; readonly value?: undefined }
  | { readonly typeUrl: string; readonly value: Uint8Array; readonly message?: undefined };

/** An event with its delivery information. */
export interface Envelope {
  /** When the event was published (or the time a forwarding shim stamped on it). */
  readonly timestamp: Date;
  /** Nanoseconds within the millisecond of `timestamp` (0–999999), to keep containerd's precision. */
  readonly timestampNanos?: number;
  readonly namespace: string;
  readonly topic: string;
  readonly event: EventPayload;
}

/**
 * Publishes events. The namespace comes from the context (required: FailedPreconditionError when
 * missing); the topic must be valid (`/` then identifier components: InvalidArgumentError otherwise).
 * Publishing never blocks on slow subscribers.
 */
export interface Publisher {
  publish(ctx: Context, topic: string, event: EventPayload): Promise<void>;
}

/**
 * Forwards an envelope built elsewhere (a shim) unchanged after validation: namespace an identifier,
 * topic valid, timestamp set (InvalidArgumentError otherwise).
 */
export interface Forwarder {
  forward(ctx: Context, envelope: Envelope): Promise<void>;
}

/**
 * Subscribes to events matching any of `filters` (none = all), from now on (no replay). The iterator ends
 * when `ctx.signal` aborts; a subscriber that falls too far behind is dropped: its iterator throws a
 * ResourceExhaustedError.
 */
export interface Subscriber {
  subscribe(ctx: Context, filters?: readonly string[]): AsyncIterable<Envelope>;
}

/** Everything an event exchange offers. */
export interface Exchange extends Publisher, Forwarder, Subscriber {}

/** The topics containerd uses. */
export const Topic = {
  ContainerCreate: "/containers/create",
  ContainerUpdate: "/containers/update",
  ContainerDelete: "/containers/delete",
  ContentDelete: "/content/delete",
  ImageCreate: "/images/create",
  ImageUpdate: "/images/update",
  ImageDelete: "/images/delete",
  NamespaceCreate: "/namespaces/create",
  NamespaceUpdate: "/namespaces/update",
  NamespaceDelete: "/namespaces/delete",
  SnapshotPrepare: "/snapshot/prepare",
  SnapshotCommit: "/snapshot/commit",
  SnapshotRemove: "/snapshot/remove",
  TaskCreate: "/tasks/create",
  TaskStart: "/tasks/start",
  TaskOOM: "/tasks/oom",
  TaskExit: "/tasks/exit",
  TaskDelete: "/tasks/delete",
  TaskExecAdded: "/tasks/exec-added",
  TaskExecStarted: "/tasks/exec-started",
  TaskPaused: "/tasks/paused",
  TaskResumed: "/tasks/resumed",
  TaskCheckpointed: "/tasks/checkpointed",
} as const;

/** The event type URLs containerd 1.6 uses (bare protobuf message names). */
export const EventType = {
  ContainerCreate: "containerd.events.ContainerCreate",
  ContainerUpdate: "containerd.events.ContainerUpdate",
  ContainerDelete: "containerd.events.ContainerDelete",
  ContentDelete: "containerd.events.ContentDelete",
  ImageCreate: "containerd.services.images.v1.ImageCreate",
  ImageUpdate: "containerd.services.images.v1.ImageUpdate",
  ImageDelete: "containerd.services.images.v1.ImageDelete",
  NamespaceCreate: "containerd.events.NamespaceCreate",
  NamespaceUpdate: "containerd.events.NamespaceUpdate",
  NamespaceDelete: "containerd.events.NamespaceDelete",
  SnapshotPrepare: "containerd.events.SnapshotPrepare",
  SnapshotCommit: "containerd.events.SnapshotCommit",
  SnapshotRemove: "containerd.events.SnapshotRemove",
  TaskCreate: "containerd.events.TaskCreate",
  TaskStart: "containerd.events.TaskStart",
  TaskOOM: "containerd.events.TaskOOM",
  TaskExit: "containerd.events.TaskExit",
  TaskDelete: "containerd.events.TaskDelete",
  TaskExecAdded: "containerd.events.TaskExecAdded",
  TaskExecStarted: "containerd.events.TaskExecStarted",
  TaskPaused: "containerd.events.TaskPaused",
  TaskResumed: "containerd.events.TaskResumed",
  TaskCheckpointed: "containerd.events.TaskCheckpointed",
} as const;

/** A publisher that drops everything (for library users who do not want events). */
export const discardPublisher: Publisher = { publish: async () => undefined };

export { validateTopic } from "./topic.js";
