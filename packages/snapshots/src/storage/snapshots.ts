/**
 * Snapshot records in a snapshotter's metadata database (containerd's `snapshots/storage/bolt.go`).
 *
 * Key schema (all keys are strings; values are JSON unless noted):
 *
 * ```
 * v1!seq                                   last snapshot id handed out (decimal text); ids start at 1
 * v1!s!<key>                               snapshot record: { id, kind, parent?, labels, createdAt,
 *                                          updatedAt, size?, inodes? } (usage only for committed)
 * v1!p!<parent id, 16 hex>!<child id, 16 hex>   key of the child (text): the parent → children index
 * ```
 *
 * Keys and names are free strings (they may contain spaces, `/` and `!`); they only ever appear as the
 * tail of a key, so they cannot collide with the fixed-width parent index.
 */
import {
  AlreadyExistsError,
  DataLossError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from "@containerts/errdefs";
import type { Adaptor, Filter } from "@containerts/namespaces";
import type { Kind, SnapshotInfo, SnapshotInfoUpdate, Usage } from "../snapshotter.js";
import type { ReadTransaction, WriteTransaction } from "./metastore.js";

const SEQ_KEY = "v1!seq";
const SNAPSHOT_PREFIX = "v1!s!";
const PARENT_PREFIX = "v1!p!";

interface SnapshotRecord {
  id: number;
  kind: Kind;
  parent?: string;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  size?: number;
  inodes?: number;
}

/**
 * The storage view of an active snapshot or view: its id and the ids of its parents, **nearest first**
 * (`parentIds[0]` is the immediate parent), which is the order overlay's `lowerdir` wants.
 */
export interface StoredSnapshot {
  readonly id: string;
  readonly kind: Kind;
  readonly parentIds: readonly string[];
}

const snapshotKey = (key: string): string => `${SNAPSHOT_PREFIX}${key}`;
const hexId = (id: number): string => id.toString(16).padStart(16, "0");
const parentLinkKey = (parent: number, child: number): string => `${PARENT_PREFIX}${hexId(parent)}!${hexId(child)}`;

function notExist(key: string): NotFoundError {
  return new NotFoundError(`snapshot ${key} does not exist`);
}

async function readRecord(tx: ReadTransaction, key: string): Promise<SnapshotRecord | undefined> {
  const raw = await tx.get(snapshotKey(key));
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as SnapshotRecord;
  } catch (err) {
    throw new DataLossError(`snapshot ${key}: unreadable metadata record`, { cause: err });
  }
}

function writeRecord(tx: WriteTransaction, key: string, record: SnapshotRecord): void {
  tx.put(snapshotKey(key), JSON.stringify(record));
}

/** Copies labels without empty values (an empty value means "unset", as in containerd's stores). */
function cleanLabels(labels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (labels === undefined) return out;
  for (const [k, v] of Object.entries(labels)) if (v !== "") out[k] = v;
  return out;
}

function toInfo(key: string, r: SnapshotRecord): SnapshotInfo {
  return {
    kind: r.kind,
    name: key,
    ...(r.parent !== undefined && r.parent !== "" ? { parent: r.parent } : {}),
    labels: { ...r.labels },
    createdAt: new Date(r.createdAt),
    updatedAt: new Date(r.updatedAt),
  };
}

/** Returns the id, info and recorded usage of a snapshot. */
export async function getInfo(
  tx: ReadTransaction,
  key: string,
): Promise<{ id: string; info: SnapshotInfo; usage: Usage }> {
  const r = await readRecord(tx, key);
  if (r === undefined) throw notExist(key);
  return { id: String(r.id), info: toInfo(key, r), usage: { size: r.size ?? 0, inodes: r.inodes ?? 0 } };
}

/** Applies an update with containerd's field-path semantics and returns the stored info. */
export async function updateInfo(
  tx: WriteTransaction,
  info: SnapshotInfoUpdate,
  fieldpaths: readonly string[] | undefined,
): Promise<SnapshotInfo> {
  if (info.name === "") throw new InvalidArgumentError("snapshot name required");
  const r = await readRecord(tx, info.name);
  if (r === undefined) throw notExist(info.name);
  const given = info.labels ?? {};
  let labels: Record<string, string>;
  if (fieldpaths !== undefined && fieldpaths.length > 0) {
    labels = { ...r.labels };
    for (const path of fieldpaths) {
      if (path.startsWith("labels.")) {
        const k = path.slice("labels.".length);
        const v = given[k];
        if (v === undefined || v === "") delete labels[k];
        else labels[k] = v;
      } else if (path === "labels") {
        labels = { ...given };
      } else {
        throw new InvalidArgumentError(`cannot update ${JSON.stringify(path)} field on snapshot ${JSON.stringify(info.name)}`);
      }
    }
  } else {
    labels = { ...given };
  }
  const updated: SnapshotRecord = { ...r, labels: cleanLabels(labels), updatedAt: new Date().toISOString() };
  writeRecord(tx, info.name, updated);
  return toInfo(info.name, updated);
}

/** The filter adaptor of a snapshot: `kind`, `name`, `parent`, `labels.<key>` (containerd's `adaptSnapshot`). */
export function snapshotAdaptor(info: SnapshotInfo): Adaptor {
  return {
    field(path: readonly string[]): string | undefined {
      switch (path[0]) {
        case "kind":
          return info.kind;
        case "name":
          return info.name;
        case "parent":
          return info.parent ?? "";
        case "labels": {
          if (path.length < 2) return undefined;
          return info.labels[path.slice(1).join(".")];
        }
        default:
          return undefined;
      }
    },
  };
}

/** Calls `fn` with the id and info of every snapshot matching `filter`, in key order. */
export async function walkInfo(
  tx: ReadTransaction,
  filter: Filter,
  fn: (id: string, info: SnapshotInfo) => void | Promise<void>,
): Promise<void> {
  for (const [k, raw] of await tx.range(SNAPSHOT_PREFIX)) {
    const key = k.slice(SNAPSHOT_PREFIX.length);
    let r: SnapshotRecord;
    try {
      r = JSON.parse(raw) as SnapshotRecord;
    } catch (err) {
      throw new DataLossError(`snapshot ${key}: unreadable metadata record`, { cause: err });
    }
    const info = toInfo(key, r);
    if (!filter.match(snapshotAdaptor(info))) continue;
    await fn(String(r.id), info);
  }
}

/**
 * The ids of `parent` and its ancestors, nearest first. Reads records up to the first ancestor whose
 * chain the store remembers (see `chains.ts`), and remembers what it read.
 */
async function parentChain(tx: ReadTransaction, parent: string): Promise<string[]> {
  const ids: string[] = [];
  let name: string | undefined = parent;
  const seen = new Set<string>();
  while (name !== undefined && name !== "") {
    if (seen.has(name)) throw new DataLossError(`snapshot ${parent}: parent chain has a cycle`);
    seen.add(name);
    const r = await readRecord(tx, name);
    if (r === undefined) throw new NotFoundError(`parent snapshot ${name} does not exist`);
    const id = String(r.id);
    const known = tx.chains?.chain(id);
    if (known !== undefined) {
      const read = ids.length;
      for (const k of known) ids.push(k);
      if (read > 0) tx.chains?.remember(ids.slice(0, read), id);
      return ids;
    }
    ids.push(id);
    name = r.parent;
  }
  tx.chains?.remember(ids);
  return ids;
}

/**
 * Returns the storage view of an active snapshot or view.
 * @throws NotFound `snapshot <key> does not exist`
 * @throws FailedPrecondition `requested snapshot <key> not active or view`
 */
export async function getSnapshot(tx: ReadTransaction, key: string): Promise<StoredSnapshot> {
  const r = await readRecord(tx, key);
  if (r === undefined) throw notExist(key);
  if (r.kind !== "active" && r.kind !== "view") {
    throw new FailedPreconditionError(`requested snapshot ${key} not active or view`);
  }
  return { id: String(r.id), kind: r.kind, parentIds: r.parent ? await parentChain(tx, r.parent) : [] };
}

/**
 * Inserts the record of a new active snapshot or view, with a fresh id, and links it to its parent.
 * @throws AlreadyExists `snapshot "<key>"`
 * @throws NotFound `parent snapshot <parent> does not exist`
 * @throws InvalidArgument `parent "<parent>" is not committed snapshot`
 */
export async function createSnapshot(
  tx: WriteTransaction,
  kind: "active" | "view",
  key: string,
  parent: string | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): Promise<StoredSnapshot> {
  if (key === "") throw new InvalidArgumentError("snapshot key must not be empty");
  if ((await readRecord(tx, key)) !== undefined) throw new AlreadyExistsError(`snapshot ${JSON.stringify(key)}`);
  let parentRecord: SnapshotRecord | undefined;
  if (parent !== undefined && parent !== "") {
    parentRecord = await readRecord(tx, parent);
    if (parentRecord === undefined) throw new NotFoundError(`parent snapshot ${parent} does not exist`);
    if (parentRecord.kind !== "committed") {
      throw new InvalidArgumentError(`parent ${JSON.stringify(parent)} is not committed snapshot`);
    }
  }
  const id = await nextSequence(tx);
  const now = new Date().toISOString();
  const record: SnapshotRecord = {
    id,
    kind,
    ...(parentRecord !== undefined && parent !== undefined ? { parent } : {}),
    labels: cleanLabels(labels),
    createdAt: now,
    updatedAt: now,
  };
  writeRecord(tx, key, record);
  let parentIds: string[] = [];
  if (parentRecord !== undefined && parent !== undefined) {
    tx.put(parentLinkKey(parentRecord.id, id), key);
    parentIds = await parentChain(tx, parent);
  }
  return { id: String(id), kind, parentIds };
}

async function nextSequence(tx: WriteTransaction): Promise<number> {
  const raw = await tx.get(SEQ_KEY);
  const last = raw === undefined ? 0 : Number.parseInt(raw, 10);
  if (!Number.isSafeInteger(last) || last < 0) throw new DataLossError(`snapshot id sequence: bad value ${raw}`);
  const id = last + 1;
  tx.put(SEQ_KEY, String(id));
  return id;
}

/**
 * Deletes a snapshot's record and its parent link; returns its id and kind.
 * @throws NotFound `snapshot <key> does not exist`
 * @throws FailedPrecondition `cannot remove snapshot with child`
 */
export async function removeSnapshot(tx: WriteTransaction, key: string): Promise<{ id: string; kind: Kind }> {
  const r = await readRecord(tx, key);
  if (r === undefined) throw notExist(key);
  const children = await tx.range(`${PARENT_PREFIX}${hexId(r.id)}!`);
  if (children.length > 0) throw new FailedPreconditionError("cannot remove snapshot with child");
  if (r.parent !== undefined && r.parent !== "") {
    const p = await readRecord(tx, r.parent);
    if (p === undefined) throw new NotFoundError(`parent snapshot ${r.parent} does not exist`);
    tx.del(parentLinkKey(p.id, r.id));
  }
  tx.del(snapshotKey(key));
  tx.chains?.forget(String(r.id));
  return { id: String(r.id), kind: r.kind };
}

/**
 * Turns the active snapshot `key` into the committed snapshot `name` (same id and parent, new labels,
 * recorded usage, created = updated = now) and returns the id.
 * @throws AlreadyExists `snapshot "<name>"`
 * @throws NotFound `snapshot <key> does not exist`
 * @throws FailedPrecondition `snapshot "<key>" is not active`
 */
export async function commitActive(
  tx: WriteTransaction,
  key: string,
  name: string,
  usage: Usage,
  labels: Readonly<Record<string, string>> | undefined,
): Promise<string> {
  if ((await readRecord(tx, name)) !== undefined) throw new AlreadyExistsError(`snapshot ${JSON.stringify(name)}`);
  const r = await readRecord(tx, key);
  if (r === undefined) throw notExist(key);
  if (r.kind !== "active") throw new FailedPreconditionError(`snapshot ${JSON.stringify(key)} is not active`);
  const now = new Date().toISOString();
  const committed: SnapshotRecord = {
    id: r.id,
    kind: "committed",
    ...(r.parent !== undefined && r.parent !== "" ? { parent: r.parent } : {}),
    labels: cleanLabels(labels),
    createdAt: now,
    updatedAt: now,
    size: usage.size,
    inodes: usage.inodes,
  };
  tx.del(snapshotKey(key));
  writeRecord(tx, name, committed);
  if (committed.parent !== undefined) {
    const p = await readRecord(tx, committed.parent);
    if (p === undefined) throw new NotFoundError(`parent snapshot ${committed.parent} does not exist`);
    tx.put(parentLinkKey(p.id, r.id), name);
  }
  return String(r.id);
}

/**
 * Checks a commit of `key` to `name` in containerd's order and returns the active snapshot's id.
 * @throws AlreadyExists `snapshot "<name>"`
 * @throws NotFound `snapshot <key> does not exist`
 * @throws FailedPrecondition `snapshot "<key>" is not active`
 */
export async function checkCommit(tx: ReadTransaction, key: string, name: string): Promise<string> {
  if (name === "") throw new InvalidArgumentError("snapshot name must not be empty");
  if ((await readRecord(tx, name)) !== undefined) throw new AlreadyExistsError(`snapshot ${JSON.stringify(name)}`);
  const r = await readRecord(tx, key);
  if (r === undefined) throw notExist(key);
  if (r.kind !== "active") throw new FailedPreconditionError(`snapshot ${JSON.stringify(key)} is not active`);
  return String(r.id);
}

/** Maps every snapshot id in use to its key. */
export async function idMap(tx: ReadTransaction): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const [k, raw] of await tx.range(SNAPSHOT_PREFIX)) {
    const r = JSON.parse(raw) as SnapshotRecord;
    ids.set(String(r.id), k.slice(SNAPSHOT_PREFIX.length));
  }
  return ids;
}
