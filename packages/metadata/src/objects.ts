/**
 * Generic namespaced object records: the storage primitive the images, containers and snapshots stores
 * build on. A kind names a bucket of records (`images`, `containers`, `snapshots/<snapshotter>`) and
 * says, through its `gcRefs` hook, which garbage-collection edges a record has. The edges are computed
 * when the record is written and stored with it, so a collection never depends on which stores are
 * loaded in the process.
 */
import { InvalidArgumentError } from "@containerts/errdefs";
import { labelGcRefContent, labelGcRefSnapshotPrefix, labelGcRoot } from "@containerts/leases";

/** A snapshot named by its snapshotter and key: the target of a snapshot reference. */
export interface SnapshotRef {
  readonly snapshotter: string;
  readonly key: string;
}

/**
 * The garbage-collection edges of one record (what containerd's `metadata/gc.go` reads from a bucket).
 */
export interface GcRefs {
  /** The record is a root: it is always kept (images, containers, objects labelled `gc.root`). */
  readonly root?: boolean;
  /** Content digests the record keeps alive (label references; not followed from flat leases). */
  readonly content?: readonly string[];
  /** Snapshots the record keeps alive (label references; not followed from flat leases). */
  readonly snapshots?: readonly SnapshotRef[];
  /** Snapshots kept alive even through flat leases (a snapshot's parent). */
  readonly parents?: readonly SnapshotRef[];
  /**
   * The backend resource this record stands for (a snapshot's backend key), handed to the
   * snapshotter's collector when the record is collected.
   */
  readonly backendKey?: string;
}

/** A kind of object record: its bucket name, its GC hook and (optionally) its JSON mapping. */
export interface ObjectKind<T> {
  /** Bucket name: `images`, `containers`, `snapshots/<snapshotter>`, … */
  readonly name: string;
  /** The record's garbage-collection edges. */
  gcRefs(record: T): GcRefs;
  /** Converts a record to a JSON-serializable value (default: the record itself). */
  toJSON?(record: T): unknown;
  /** Converts the stored JSON value back (default: the value itself). */
  fromJSON?(value: unknown): T;
}

/** The object kind of image records (`metadata/images.go` in containerd). */
export const imagesKindName = "images";
/** The object kind of container records. */
export const containersKindName = "containers";
/** Prefix of snapshot object kinds, `snapshots/<snapshotter>`. */
export const snapshotsKindPrefix = "snapshots/";

/** The object kind name holding the snapshots of `snapshotter`. */
export function snapshotsKindName(snapshotter: string): string {
  return `${snapshotsKindPrefix}${snapshotter}`;
}

/**
 * Defines an object kind.
 * @throws InvalidArgumentError when the name is empty, or `snapshots/` without a snapshotter.
 */
export function defineObjectKind<T>(spec: ObjectKind<T>): ObjectKind<T> {
  if (spec.name === "" || spec.name === snapshotsKindPrefix || spec.name === "snapshots") {
    throw new InvalidArgumentError(`invalid object kind ${JSON.stringify(spec.name)}`);
  }
  return spec;
}

/** The stored form of an object record. */
export interface StoredObject {
  /** The record, as returned by the kind's `toJSON`. */
  readonly v: unknown;
  /** Its GC edges. */
  readonly gc: StoredGcRefs;
}

/** The stored form of {@link GcRefs} (empty fields omitted). */
export interface StoredGcRefs {
  readonly root?: true;
  readonly content?: readonly string[];
  readonly snapshots?: readonly (readonly [string, string])[];
  readonly parents?: readonly (readonly [string, string])[];
  readonly backend?: string;
}

/** Encodes a record of `kind` for storage. */
export function encodeObject<T>(kind: ObjectKind<T>, record: T): StoredObject {
  const refs = kind.gcRefs(record);
  const gc: {
    root?: true;
    content?: readonly string[];
    snapshots?: readonly (readonly [string, string])[];
    parents?: readonly (readonly [string, string])[];
    backend?: string;
  } = {};
  if (refs.root === true) gc.root = true;
  if (refs.content !== undefined && refs.content.length > 0) gc.content = [...refs.content];
  if (refs.snapshots !== undefined && refs.snapshots.length > 0) gc.snapshots = refs.snapshots.map((s) => [s.snapshotter, s.key] as const);
  if (refs.parents !== undefined && refs.parents.length > 0) gc.parents = refs.parents.map((s) => [s.snapshotter, s.key] as const);
  if (refs.backendKey !== undefined) gc.backend = refs.backendKey;
  return { v: kind.toJSON === undefined ? record : kind.toJSON(record), gc };
}

/** Decodes a stored record of `kind`. */
export function decodeObject<T>(kind: ObjectKind<T>, stored: StoredObject): T {
  return kind.fromJSON === undefined ? (stored.v as T) : kind.fromJSON(stored.v);
}

/**
 * The references containerd follows from an object's labels (`sendLabelRefs`):
 * `containerd.io/gc.ref.content`, `containerd.io/gc.ref.content.<x>` and `containerd.io/gc.ref.content/<x>`
 * name content digests; `containerd.io/gc.ref.snapshot.<snapshotter>[/<x>]` names a snapshot key in
 * that snapshotter.
 */
export function labelRefs(labels: Readonly<Record<string, string>> | undefined): {
  content: string[];
  snapshots: SnapshotRef[];
} {
  const content: string[] = [];
  const snapshots: SnapshotRef[] = [];
  if (labels === undefined) return { content, snapshots };
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith(labelGcRefContent)) {
      const rest = k.slice(labelGcRefContent.length);
      if (rest === "" || rest.startsWith(".") || rest.startsWith("/")) content.push(v);
    } else if (k.startsWith(labelGcRefSnapshotPrefix)) {
      let snapshotter = k.slice(labelGcRefSnapshotPrefix.length);
      const slash = snapshotter.indexOf("/");
      if (slash >= 0) snapshotter = snapshotter.slice(0, slash);
      snapshots.push({ snapshotter, key: v });
    }
  }
  return { content, snapshots };
}

/** True when the labels carry `containerd.io/gc.root` (any value). */
export function isGcRoot(labels: Readonly<Record<string, string>> | undefined): boolean {
  return labels !== undefined && Object.hasOwn(labels, labelGcRoot);
}
