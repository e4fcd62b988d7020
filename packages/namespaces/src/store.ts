import type { Context } from "./context.js";

/** A namespace with its labels. */
export interface Namespace {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The namespace store (containerd's `namespaces.Store`). Implemented by `@containerts/metadata`.
 *
 * Namespaces are also created implicitly by any write into them; `list` includes those.
 */
export interface NamespaceStore {
  /**
   * Creates a namespace.
   * @throws InvalidArgumentError when the name is not an identifier or a label is too large.
   * @throws AlreadyExistsError when it exists (also when it was created implicitly).
   */
  create(ctx: Context, name: string, labels?: Readonly<Record<string, string>>): Promise<Namespace>;
  /** The namespace and its labels; an unknown name yields `{ name, labels: {} }` (never NotFound). */
  get(ctx: Context, name: string): Promise<Namespace>;
  /** Every namespace, explicit or implicit, in name order. */
  list(ctx: Context): Promise<Namespace[]>;
  /**
   * Updates labels: with `fieldpaths`, each `labels.<key>` sets (an empty value unsets) one label; without,
   * the labels are replaced.
   * @throws InvalidArgumentError `cannot update "<p>" field` for any other path, or an invalid label.
   */
  update(ctx: Context, namespace: Namespace, fieldpaths?: readonly string[]): Promise<Namespace>;
  /**
   * Deletes an empty namespace.
   * @throws NotFoundError when it does not exist.
   * @throws FailedPreconditionError `namespace "<name>" must be empty, but it still has <kind>` when it
   *   holds images, blobs, containers or snapshots.
   */
  delete(ctx: Context, name: string): Promise<void>;
}
