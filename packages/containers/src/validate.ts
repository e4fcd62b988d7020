/**
 * Pure rules of the container store (containerd's `metadata/containers.go`): validation of a record and the
 * update-mask semantics. Stores call them inside their transactions; they do no I/O.
 */
import { InvalidArgumentError, withContext } from "@containerts/errdefs";
import { cleanLabels, quoteFilterString, validateIdentifier, validateLabel } from "@containerts/namespaces";
import type { AnyValue, Container, ContainerInput } from "./container.js";

/** The paths an update without a field mask replaces (containerd's list, in its order). */
export const UPDATE_ALL_PATHS: readonly string[] = Object.freeze(["labels", "spec", "extensions", "image", "snapshotkey"]);

function copyAny(a: AnyValue): AnyValue {
  return { typeUrl: a.typeUrl, value: new Uint8Array(a.value) };
}

function copyExtensions(ext: Readonly<Record<string, AnyValue>> | undefined): Record<string, AnyValue> {
  const out: Record<string, AnyValue> = {};
  if (ext === undefined) return out;
  for (const [k, v] of Object.entries(ext)) setOwn(out, k, copyAny(v));
  return out;
}

function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Turns a {@link ContainerInput} into a full {@link Container}: absent fields become their zero values,
 * labels and extensions are copied (labels keep empty values: the store drops them when it writes), Anys are
 * copied, and both times are `now` unless given.
 */
export function normalizeContainer(input: ContainerInput, now: Date = new Date()): Container {
  const runtime = input.runtime;
  return {
    id: input.id,
    labels: { ...(input.labels ?? {}) },
    image: input.image ?? "",
    runtime:
      runtime?.options === undefined
        ? { name: runtime?.name ?? "" }
        : { name: runtime.name, options: copyAny(runtime.options) },
    ...(input.spec === undefined ? {} : { spec: copyAny(input.spec) }),
    snapshotter: input.snapshotter ?? "",
    snapshotKey: input.snapshotKey ?? "",
    createdAt: input.createdAt ?? now,
    updatedAt: input.updatedAt ?? now,
    extensions: copyExtensions(input.extensions),
  };
}

/**
 * Checks a container record as containerd's `validateContainer` does, in its order.
 *
 * @throws InvalidArgumentError `container.ID: identifier …` (id not an identifier),
 *   `container.Extension keys must not be zero-length`, `containers.Labels: label key and value greater
 *   than maximum size …`, `container.Runtime.Name must be set`, `container.Spec must be set`,
 *   `container.Snapshotter must be set if container.SnapshotKey is set`.
 */
export function validateContainer(container: ContainerInput): void {
  try {
    validateIdentifier(container.id);
  } catch (err) {
    throw withContext(err, "container.ID");
  }
  for (const k of Object.keys(container.extensions ?? {})) {
    if (k === "") throw new InvalidArgumentError("container.Extension keys must not be zero-length");
  }
  for (const [k, v] of Object.entries(container.labels ?? {})) {
    try {
      validateLabel(k, v);
    } catch (err) {
      throw withContext(err, "containers.Labels");
    }
  }
  if ((container.runtime?.name ?? "") === "") throw new InvalidArgumentError("container.Runtime.Name must be set");
  if (container.spec === undefined) throw new InvalidArgumentError("container.Spec must be set");
  if ((container.snapshotKey ?? "") !== "" && (container.snapshotter ?? "") === "") {
    throw new InvalidArgumentError("container.Snapshotter must be set if container.SnapshotKey is set");
  }
}

/**
 * Computes the record an update stores: `stored` with the paths of `fieldpaths` taken from `update`
 * (see {@link ContainerStore.update} for the paths and the no-mask rule), validated, labels without empty
 * values, `createdAt` kept and `updatedAt = now`.
 *
 * @throws InvalidArgumentError as {@link ContainerStore.update} documents (immutable fields, unknown
 *   paths, `update failed validation: …`).
 */
export function applyContainerUpdate(
  stored: Container,
  update: ContainerInput,
  fieldpaths: readonly string[] = [],
  now: Date = new Date(),
): Container {
  let paths = fieldpaths;
  if (paths.length === 0) {
    paths = UPDATE_ALL_PATHS;
    if (stored.snapshotter !== (update.snapshotter ?? "")) {
      throw new InvalidArgumentError("container.Snapshotter field is immutable");
    }
    if (stored.runtime.name !== (update.runtime?.name ?? "")) {
      throw new InvalidArgumentError("container.Runtime.Name field is immutable");
    }
  }

  let labels: Record<string, string> = { ...stored.labels };
  let extensions: Record<string, AnyValue> = copyExtensions(stored.extensions);
  let spec = stored.spec;
  let image = stored.image;
  let snapshotKey = stored.snapshotKey;

  for (const path of paths) {
    if (path.startsWith("labels.")) {
      const key = path.slice("labels.".length);
      const value = update.labels !== undefined && Object.hasOwn(update.labels, key) ? update.labels[key] : undefined;
      if (value === undefined || value === "") delete labels[key];
      else setOwn(labels, key, value);
      continue;
    }
    if (path.startsWith("extensions.")) {
      const key = path.slice("extensions.".length);
      const value = update.extensions !== undefined && Object.hasOwn(update.extensions, key) ? update.extensions[key] : undefined;
      if (value === undefined) delete extensions[key];
      else setOwn(extensions, key, copyAny(value));
      continue;
    }
    switch (path) {
      case "labels":
        labels = { ...(update.labels ?? {}) };
        break;
      case "spec":
        spec = update.spec === undefined ? undefined : copyAny(update.spec);
        break;
      case "extensions":
        extensions = copyExtensions(update.extensions);
        break;
      case "image":
        image = update.image ?? "";
        break;
      case "snapshotkey":
        snapshotKey = update.snapshotKey ?? "";
        break;
      default:
        throw new InvalidArgumentError(`cannot update ${quoteFilterString(path)} field on ${quoteFilterString(update.id)}`);
    }
  }

  const result: Container = {
    id: stored.id,
    labels,
    image,
    runtime: stored.runtime,
    ...(spec === undefined ? {} : { spec }),
    snapshotter: stored.snapshotter,
    snapshotKey,
    createdAt: stored.createdAt,
    updatedAt: now,
    extensions,
  };
  try {
    validateContainer(result);
  } catch (err) {
    throw withContext(err, "update failed validation");
  }
  return { ...result, labels: cleanLabels(result.labels) };
}
