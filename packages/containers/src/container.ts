/**
 * The domain types and the store interface of containers (containerd's `containers` package): a container
 * is metadata only (what to run, with which runtime, on which snapshot); what runs is a task.
 */
import type { Context } from "@containerts/namespaces";

/**
 * An opaque `google.protobuf.Any`: a type URL and the encoded value, stored and returned byte for byte.
 * Containers never look inside one, except {@link readSpec} for the OCI spec.
 */
export interface AnyValue {
  /** The bare type URL (`types.containerd.io/opencontainers/runtime-spec/1/Spec`, `containerd.runc.v1.Options`). */
  readonly typeUrl: string;
  /** The encoded value: JSON bytes for the OCI spec types, protobuf bytes for protobuf messages. */
  readonly value: Uint8Array;
}

/** The runtime a container's tasks run with. */
export interface ContainerRuntime {
  /** The runtime name, e.g. `io.containerd.runc.v2` or `io.containerts.tsrunc.v1`. Required; immutable. */
  readonly name: string;
  /** Runtime options passed to the shim (e.g. `containerd.runc.v1.Options`), opaque. */
  readonly options?: AnyValue;
}

/** A container record (containerd's `containers.Container`). */
export interface Container {
  /** The container id: an identifier (`identifiers.Validate`), unique in its namespace. */
  readonly id: string;
  /** Labels; a label with an empty value does not exist. */
  readonly labels: Readonly<Record<string, string>>;
  /** The image reference the container was made from (free text, not checked). */
  readonly image: string;
  /** The runtime (name immutable after create). */
  readonly runtime: ContainerRuntime;
  /**
   * The OCI runtime spec, an Any of type {@link SPEC_TYPE_URL} holding JSON. Required by create and update;
   * optional here only because records from elsewhere may lack it.
   */
  readonly spec?: AnyValue;
  /** The snapshotter holding the root filesystem snapshot (`""` for none). Immutable after create. */
  readonly snapshotter: string;
  /** The key of the root filesystem snapshot in {@link snapshotter} (`""` for none). */
  readonly snapshotKey: string;
  /** When the container was created (set by the store). */
  readonly createdAt: Date;
  /** When the container was last updated (set by the store). */
  readonly updatedAt: Date;
  /** Extensions: client data, keys non-empty, values opaque. */
  readonly extensions: Readonly<Record<string, AnyValue>>;
}

/**
 * The input of {@link ContainerStore.create} and {@link ContainerStore.update}: a container whose fields
 * other than `id` may be left out. An absent field counts as its zero value (`""`, `{}`, no spec), as in
 * containerd, where the Go struct's zero values are what the store sees. Times are ignored.
 */
export type ContainerInput = { readonly id: string } & Partial<Omit<Container, "id">>;

/** The type URL of an OCI runtime spec Any (its value is the spec's JSON). */
export const SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

/**
 * The container store (containerd's `containers.Store`), namespaced by the context: every method throws
 * FailedPreconditionError `namespace is required` without a namespace, InvalidArgumentError for an invalid
 * one, and CanceledError once `ctx.signal` is aborted.
 *
 * Lifecycle: `create` records a container (nothing is checked about its image, snapshot or runtime);
 * `update` changes the mutable fields; `delete` removes the record (it does not look for a task; callers
 * delete the task first). A container is a garbage-collection root: it keeps its snapshot
 * (`snapshotter`/`snapshotKey`) and everything its `containerd.io/gc.ref.*` labels name.
 */
export interface ContainerStore {
  /**
   * The container `id`.
   * @throws NotFoundError `container "<id>" in namespace "<ns>": not found` when it does not exist.
   */
  get(ctx: Context, id: string): Promise<Container>;

  /**
   * The containers matching any of `filters` (containerd's filter language over `id`, `image`,
   * `runtime.name`, `labels.<key>`; none or `""` matches all), in id order.
   * @throws InvalidArgumentError `filters: parse error: …` for a filter that does not parse.
   */
  list(ctx: Context, filters?: readonly string[]): Promise<Container[]>;

  /**
   * Creates a container, setting `createdAt = updatedAt = now`, and returns the stored record. Labels with
   * empty values are dropped.
   * @throws InvalidArgumentError (`create container failed validation: …`, see {@link validateContainer}):
   *   id not an identifier, `container.Runtime.Name must be set`, `container.Spec must be set`, a snapshot
   *   key without a snapshotter, an empty extension key, or a label that is too large.
   * @throws AlreadyExistsError `container "<id>": already exists`.
   */
  create(ctx: Context, container: ContainerInput): Promise<Container>;

  /**
   * Updates a container and returns the stored record (`createdAt` kept, `updatedAt = now`).
   *
   * `fieldpaths` (the update mask) may hold `labels`, `labels.<key>`, `spec`, `extensions`,
   * `extensions.<key>`, `image` and `snapshotkey` (no underscore). A `labels.<key>` or `extensions.<key>`
   * path sets that one entry from `container` (absent or empty label value: removed). With no paths, the
   * five fields `labels`, `spec`, `extensions`, `image`, `snapshotkey` are replaced, and `snapshotter` and
   * `runtime.name` must equal the stored values.
   * @throws InvalidArgumentError `must specify a container id` for an empty id; `container.Snapshotter field
   *   is immutable` / `container.Runtime.Name field is immutable` (no mask, value differs);
   *   `cannot update "<p>" field on "<id>"` for another path; `update failed validation: …` when the result
   *   is invalid (e.g. the spec was cleared).
   * @throws NotFoundError `container "<id>": not found`.
   */
  update(ctx: Context, container: ContainerInput, fieldpaths?: readonly string[]): Promise<Container>;

  /**
   * Deletes a container record.
   * @throws NotFoundError `container <id>: not found` when it does not exist.
   */
  delete(ctx: Context, id: string): Promise<void>;
}

/**
 * What the containers service needs from the metadata plugin: the namespaced container store. The metadata
 * plugin's instance satisfies it structurally (containers never imports metadata).
 */
export interface ContainerStoreSource {
  containerStore(): ContainerStore;
}
