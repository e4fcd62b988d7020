/**
 * The metadata database's key schema, its encoding, and the schema version with its migrations.
 *
 * Keys are tuples of string components. Each component is escaped (`\x00` → `\x01\x01`,
 * `\x01` → `\x01\x02`) and the components are joined with `\x00`, so any user string (snapshot keys
 * and lease ids may hold spaces, `/` or anything else) is one component, tuple order is key order,
 * and "all keys under a tuple" is the range `[tuple + \x00, tuple + \x01)`.
 * Values are UTF-8 JSON unless noted. Times are ISO-8601 strings (UTC).
 *
 * The tree (`╘══*x*` is a component chosen by the caller; this drawing is updated in the same change
 * as any layout change, together with {@link dbVersion} and a migration):
 *
 * ```
 * ├──version : {"schema":"v1","version":<n>}      - schema version, checked at open (see migrations)
 * ├──gc
 * │  └──dirty : <decimal>                          - deletions since the last completed collection
 * └──v1                                            - schema bucket
 *    ├──namespaces
 *    │  ╘══*namespace* : {"labels":{…}}            - the namespace exists; its labels
 *    └──ns
 *       ╘══*namespace*
 *          ├──content
 *          │  ├──blob
 *          │  │  ╘══*digest* : {"size","createdAt","updatedAt","labels"}      - blob visible here
 *          │  ├──ingest
 *          │  │  ╘══*ref* : {"ref","startedAt","expireAt"?,"expected"?,"size"?} - ingest; "ref" is the
 *          │  │                                     backend ref <ns>/<seq>/<ref>; "expected"+"size" mark a
 *          │  │                                     shared ingest (blob already on disk)
 *          │  └──sequence : <decimal>              - last backend-ref sequence number
 *          ├──leases
 *          │  ╘══*lease id* : {"createdAt","labels"}
 *          ├──lease-resources
 *          │  ╘══*lease id*
 *          │     ├──content
 *          │     │  ╘══*digest* : ""
 *          │     ├──ingests
 *          │     │  ╘══*ref* : ""
 *          │     └──snapshots
 *          │        ╘══*snapshotter*
 *          │           ╘══*snapshot key* : ""
 *          ├──snapshotters
 *          │  ╘══*snapshotter*
 *          │     ├──sequence : <decimal>           - highest backend-key sequence number recorded
 *          │     └──children
 *          │        ╘══*parent key*
 *          │           ╘══*child key* : ""        - parent → child index (entries whose child record is
 *          │                                         gone or has another parent are stale and ignored)
 *          └──objects
 *             ╘══*kind*                            - "images", "containers", "snapshots/<snapshotter>", …
 *                ╘══*id* : {"v":<record>,"gc":{"root"?,"content"?,"snapshots"?,"parents"?,"backend"?}}
 *                                                  snapshots/<snapshotter> records: {"parent"?,"labels",
 *                                                  "createdAt","updatedAt","backendKey":"<ns>/<seq>/<key>"}
 * ```
 *
 * Object records carry the garbage-collection edges computed by their kind's `gcRefs` hook when they
 * were written, so a collection never depends on which stores are loaded.
 */
import { FailedPreconditionError } from "@containerts/errdefs";

/** The schema bucket name; a layout change that is not backwards compatible needs a new one. */
export const schemaVersion = "v1";

/** The version within {@link schemaVersion}: additions that older code may not understand bump it. */
export const dbVersion = 1;

const SEP = "\x00";
const ESC = "\x01";

function escapeComponent(c: string): string {
  if (!c.includes(SEP) && !c.includes(ESC)) return c;
  let out = "";
  for (const ch of c) {
    if (ch === ESC) out += `${ESC}\x02`;
    else if (ch === SEP) out += `${ESC}${ESC}`;
    else out += ch;
  }
  return out;
}

function unescapeComponent(c: string): string {
  if (!c.includes(ESC)) return c;
  let out = "";
  for (let i = 0; i < c.length; i++) {
    const ch = c[i];
    if (ch === ESC) {
      const next = c[++i];
      out += next === ESC ? SEP : ESC;
    } else {
      out += ch;
    }
  }
  return out;
}

/** Encodes a tuple of components as a key. */
export function key(...parts: readonly string[]): string {
  return parts.map(escapeComponent).join(SEP);
}

/** Decodes a key into its components. */
export function decodeKey(k: string): string[] {
  return k.split(SEP).map(unescapeComponent);
}

/** The key range holding every key strictly under the tuple `parts`. */
export interface KeyRange {
  readonly gte: string;
  readonly lt: string;
}

/** The range of all keys below the tuple `parts` (not the tuple's own key). */
export function under(...parts: readonly string[]): KeyRange {
  const k = key(...parts);
  return { gte: k + SEP, lt: k + ESC };
}

/** The components of `k` after the tuple `parts` it is known to lie under. */
export function suffix(k: string, parts: readonly string[]): string[] {
  return decodeKey(k).slice(parts.length);
}

/**
 * Compares keys in the order the database sorts them (UTF-8 byte order, which is code point order;
 * JavaScript's `<` compares UTF-16 code units and disagrees for astral characters).
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx === sy) return x - y;
    // A surrogate (astral code point) sorts above every BMP unit in UTF-8 byte order.
    return sx ? 1 : -1;
  }
  return a.length - b.length;
}

/** The keys of the schema, as tuples (arrays of components) and key builders. */
export const keys = {
  /** `version`: the schema version record. */
  version: key("version"),
  /** `gc/dirty`: deletions since the last completed garbage collection. */
  gcDirty: key("gc", "dirty"),
  /** Tuple of the namespace records. */
  namespaces: [schemaVersion, "namespaces"] as const,
  /** `v1/namespaces/<ns>`. */
  namespace: (ns: string) => key(schemaVersion, "namespaces", ns),
  /** Tuple of everything stored in namespace `ns`. */
  nsRoot: (ns: string) => [schemaVersion, "ns", ns] as const,
  /** Tuple of the blob records of `ns`. */
  blobs: (ns: string) => [schemaVersion, "ns", ns, "content", "blob"] as const,
  blob: (ns: string, dgst: string) => key(schemaVersion, "ns", ns, "content", "blob", dgst),
  /** Tuple of the ingest records of `ns`. */
  ingests: (ns: string) => [schemaVersion, "ns", ns, "content", "ingest"] as const,
  ingest: (ns: string, ref: string) => key(schemaVersion, "ns", ns, "content", "ingest", ref),
  sequence: (ns: string) => key(schemaVersion, "ns", ns, "content", "sequence"),
  /** Tuple of the lease records of `ns`. */
  leases: (ns: string) => [schemaVersion, "ns", ns, "leases"] as const,
  lease: (ns: string, id: string) => key(schemaVersion, "ns", ns, "leases", id),
  /** Tuple of the resources of lease `id`. */
  leaseResources: (ns: string, id: string) => [schemaVersion, "ns", ns, "lease-resources", id] as const,
  leaseResource: (ns: string, id: string, ...resource: readonly string[]) =>
    key(schemaVersion, "ns", ns, "lease-resources", id, ...resource),
  /** Tuple of all object kinds of `ns`. */
  objects: (ns: string) => [schemaVersion, "ns", ns, "objects"] as const,
  /** Tuple of the objects of one kind. */
  objectKind: (ns: string, kind: string) => [schemaVersion, "ns", ns, "objects", kind] as const,
  object: (ns: string, kind: string, id: string) => key(schemaVersion, "ns", ns, "objects", kind, id),
  /** `v1/ns/<ns>/snapshotters/<snapshotter>/sequence`: the highest backend-key sequence recorded. */
  snapshotSequence: (ns: string, snapshotter: string) => key(schemaVersion, "ns", ns, "snapshotters", snapshotter, "sequence"),
  /** Tuple of the children index entries of snapshot `parent`. */
  snapshotChildren: (ns: string, snapshotter: string, parent: string) =>
    [schemaVersion, "ns", ns, "snapshotters", snapshotter, "children", parent] as const,
  snapshotChild: (ns: string, snapshotter: string, parent: string, child: string) =>
    key(schemaVersion, "ns", ns, "snapshotters", snapshotter, "children", parent, child),
} as const;

/** The stored version record. */
export interface VersionRecord {
  readonly schema: string;
  readonly version: number;
}

/**
 * A migration from `version - 1` to `version` within {@link schemaVersion}. It runs inside one write
 * transaction together with the version bump, so a crash leaves either the old or the new layout.
 */
export interface Migration<Tx> {
  readonly version: number;
  /** What the migration changes, for errors and logs. */
  readonly description: string;
  migrate(tx: Tx): Promise<void>;
}

/**
 * Decides which migrations to run for a stored version record (undefined: a fresh database).
 *
 * @throws FailedPreconditionError when the database was written by a newer containerts (another
 *   schema, or a newer version of this one): opening it could lose data.
 */
export function pendingMigrations<Tx>(
  stored: VersionRecord | undefined,
  migrations: readonly Migration<Tx>[],
  current: number = dbVersion,
): Migration<Tx>[] {
  if (stored === undefined) return [];
  if (stored.schema !== schemaVersion) {
    throw new FailedPreconditionError(
      `metadata database has schema ${JSON.stringify(stored.schema)} (version ${stored.version}); this build supports schema ${JSON.stringify(schemaVersion)} up to version ${current}`,
    );
  }
  if (stored.version > current) {
    throw new FailedPreconditionError(
      `metadata database is at version ${schemaVersion}.${stored.version}, newer than the supported ${schemaVersion}.${current}; refusing to open it`,
    );
  }
  return migrations.filter((m) => m.version > stored.version && m.version <= current).sort((a, b) => a.version - b.version);
}
