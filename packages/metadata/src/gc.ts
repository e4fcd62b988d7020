/**
 * Garbage collection over the metadata database: containerd's tricolor mark-and-sweep
 * (`metadata/gc.go`, `gc/gc.go`) with its roots and references.
 *
 * Roots, per namespace: leases that have not expired (`containerd.io/gc.expire`) with their content,
 * ingests and snapshots (a `containerd.io/gc.flat` lease keeps them without following their
 * references); object records whose kind marks them as roots (images, containers, objects labelled
 * `containerd.io/gc.root`); blobs labelled `containerd.io/gc.root`; ingests whose expiry is in the
 * future. References: a blob's and an object's label references (`containerd.io/gc.ref.content[./…]`,
 * `containerd.io/gc.ref.snapshot.<snapshotter>[/…]`), the edges an object's kind declared (an image's
 * target, a container's snapshot, a snapshot's parent) and a shared ingest's expected blob.
 *
 * Phases: mark and sweep run in one metadata update (the write lock is held; reads go on), then,
 * outside the write lock, each backend whose records were removed is cleaned while holding its
 * backend lock exclusively: blobs and ingests no namespace records, and the snapshotters' collectors.
 */
import type { ContentStore } from "@containerts/content";
import { isNotFound, normalize } from "@containerts/errdefs";
import { labelGcExpire, labelGcFlat, labelGcRoot, parseExpiration } from "@containerts/leases";
import { background } from "@containerts/namespaces";

import type { BlobRecord, IngestRecord } from "./content.js";
import type { SnapshotterCollector } from "./db.js";
import type { LeaseRecord } from "./leases.js";
import type { RwLock } from "./locks.js";
import { type StoredObject, labelRefs, snapshotsKindPrefix } from "./objects.js";
import { keys, suffix, under } from "./schema.js";
import type { ReadTx, WriteTx } from "./tx.js";

/** What one collection removed. */
export interface GcRemoved {
  /** Expired leases. */
  readonly leases: number;
  /** Blob records (per-namespace visibility). */
  readonly content: number;
  /** Ingest records. */
  readonly ingests: number;
  /** Object records, by kind. */
  readonly objects: Readonly<Record<string, number>>;
  /** Blobs deleted from the backend content store. */
  readonly backendBlobs: number;
  /** Ingests aborted in the backend content store. */
  readonly backendIngests: number;
  /** Backend keys handed to each snapshotter collector. */
  readonly snapshots: Readonly<Record<string, number>>;
}

/** Statistics of one collection. */
export interface GcStats {
  readonly startedAt: Date;
  /** Total duration. */
  readonly durationMs: number;
  /** Time spent holding the write lock (mark and metadata sweep): the pause writers see. */
  readonly metadataMs: number;
  /** Time spent cleaning the content backend, when it ran. */
  readonly contentMs?: number;
  /** Time spent in each snapshotter collector that ran. */
  readonly snapshotMs: Readonly<Record<string, number>>;
  readonly removed: GcRemoved;
  /** Backend cleanup failures (the metadata sweep itself succeeded; the next collection retries). */
  readonly backendErrors: readonly string[];
}

/** What the sweep hands to the backend phase. */
export interface SweepDirty {
  /** Persisted deletion count the sweep covers. */
  readonly persisted: number;
  readonly content: boolean;
  readonly snapshotters: ReadonlySet<string>;
  /** Clean every snapshotter (first collection after open). */
  readonly allSnapshotters: boolean;
}

/** The database internals a collection uses. */
export interface GcHost {
  sweepMetadata<T>(fn: (tx: WriteTx) => Promise<T>): Promise<{ result: T; dirty: SweepDirty }>;
  clearPersistedDirty(covered: number): Promise<void>;
  view<T>(fn: (tx: ReadTx) => Promise<T>): Promise<T>;
  readonly backend: ContentStore | undefined;
  backendLock(name: string): RwLock;
  collectors(): ReadonlyMap<string, SnapshotterCollector>;
}

type NodeType = "content" | "contentFlat" | "ingest" | "object" | "objectFlat";

interface Node {
  readonly type: NodeType;
  readonly ns: string;
  /** Digest, ingest ref, or `kind` for objects. */
  readonly a: string;
  /** Object id. */
  readonly b?: string;
}

function nodeId(n: Node): string {
  return `${n.type}\x00${n.ns}\x00${n.a}\x00${n.b ?? ""}`;
}

/** The identity a node is marked under (flat variants mark the same object). */
function markId(n: Node): string {
  const type = n.type === "contentFlat" ? "content" : n.type === "objectFlat" ? "object" : n.type;
  return `${type}\x00${n.ns}\x00${n.a}\x00${n.b ?? ""}`;
}

const content = (ns: string, dgst: string, flat = false): Node => ({ type: flat ? "contentFlat" : "content", ns, a: dgst });
const object = (ns: string, kind: string, id: string, flat = false): Node => ({ type: flat ? "objectFlat" : "object", ns, a: kind, b: id });
const snapshot = (ns: string, snapshotter: string, key: string, flat = false): Node =>
  object(ns, `${snapshotsKindPrefix}${snapshotter}`, key, flat);

async function listNamespaces(tx: ReadTx): Promise<string[]> {
  const out: string[] = [];
  for await (const [k] of tx.entries(under(...keys.namespaces))) out.push(suffix(k, keys.namespaces)[0]!);
  return out;
}

interface LeaseState {
  readonly live: boolean;
  readonly flat: boolean;
}

async function scanRoots(tx: ReadTx, namespaces: readonly string[], now: number, liveLeases: Set<string>): Promise<Node[]> {
  const roots: Node[] = [];
  for (const ns of namespaces) {
    const leases = new Map<string, LeaseState>();
    const leaseTuple = keys.leases(ns);
    for await (const [k, v] of tx.entries(under(...leaseTuple))) {
      const id = suffix(k, leaseTuple)[0]!;
      const lease = JSON.parse(v) as LeaseRecord;
      const exp = lease.labels[labelGcExpire];
      // An unparsable expiry is ignored (the lease stays), as containerd does.
      const expiresAt = exp === undefined ? undefined : parseExpiration(exp);
      const live = expiresAt === undefined || expiresAt.getTime() >= now;
      leases.set(id, { live, flat: Object.hasOwn(lease.labels, labelGcFlat) });
      if (live) liveLeases.add(`${ns}\x00${id}`);
    }

    const resTuple = [...keys.nsRoot(ns), "lease-resources"];
    for await (const [k] of tx.entries(under(...resTuple))) {
      const [id, type, x, y] = suffix(k, resTuple);
      const state = leases.get(id!);
      if (state === undefined || !state.live) continue;
      if (type === "content" && x !== undefined) roots.push(content(ns, x, state.flat));
      else if (type === "ingests" && x !== undefined) roots.push({ type: "ingest", ns, a: x });
      else if (type === "snapshots" && x !== undefined && y !== undefined) roots.push(snapshot(ns, x, y, state.flat));
    }

    const objTuple = keys.objects(ns);
    for await (const [k, v] of tx.entries(under(...objTuple))) {
      const [kind, id] = suffix(k, objTuple);
      const stored = JSON.parse(v) as StoredObject;
      if (stored.gc.root === true) roots.push(object(ns, kind!, id!));
    }

    const blobTuple = keys.blobs(ns);
    for await (const [k, v] of tx.entries(under(...blobTuple))) {
      const blob = JSON.parse(v) as BlobRecord;
      if (Object.hasOwn(blob.labels, labelGcRoot)) roots.push(content(ns, suffix(k, blobTuple)[0]!));
    }

    const ingestTuple = keys.ingests(ns);
    for await (const [k, v] of tx.entries(under(...ingestTuple))) {
      const ingest = JSON.parse(v) as IngestRecord;
      if (ingest.expireAt !== undefined && Date.parse(ingest.expireAt) > now) {
        roots.push({ type: "ingest", ns, a: suffix(k, ingestTuple)[0]! });
      }
    }
  }
  return roots;
}

async function references(tx: ReadTx, n: Node): Promise<Node[]> {
  switch (n.type) {
    case "content": {
      const blob = await tx.getJson<BlobRecord>(keys.blob(n.ns, n.a));
      if (blob === undefined) return [];
      const refs = labelRefs(blob.labels);
      return [...refs.content.map((d) => content(n.ns, d)), ...refs.snapshots.map((s) => snapshot(n.ns, s.snapshotter, s.key))];
    }
    case "object":
    case "objectFlat": {
      const stored = await tx.getJson<StoredObject>(keys.object(n.ns, n.a, n.b!));
      if (stored === undefined) return [];
      const flat = n.type === "objectFlat";
      const out = (stored.gc.parents ?? []).map(([s, key]) => snapshot(n.ns, s, key, flat));
      if (flat) return out;
      for (const d of stored.gc.content ?? []) out.push(content(n.ns, d));
      for (const [s, key] of stored.gc.snapshots ?? []) out.push(snapshot(n.ns, s, key));
      return out;
    }
    case "ingest": {
      const ingest = await tx.getJson<IngestRecord>(keys.ingest(n.ns, n.a));
      return ingest?.expected === undefined ? [] : [content(n.ns, ingest.expected)];
    }
    case "contentFlat":
      return [];
  }
}

/** Tricolor marking (containerd's `gc.Tricolor`): the mark ids of every node reachable from `roots`. */
async function mark(tx: ReadTx, roots: readonly Node[], signal: AbortSignal): Promise<Set<string>> {
  const grays = [...roots];
  const seen = new Set<string>();
  const reachable = new Set<string>();
  while (grays.length > 0) {
    signal.throwIfAborted();
    const n = grays.pop()!;
    const id = nodeId(n);
    if (seen.has(id)) continue;
    seen.add(id);
    for (const r of await references(tx, n)) if (!seen.has(nodeId(r))) grays.push(r);
    reachable.add(markId(n));
  }
  return reachable;
}

interface SweepResult {
  leases: number;
  content: number;
  ingests: number;
  objects: Record<string, number>;
  /** Backend keys of removed snapshot records, by snapshotter. */
  removedSnapshots: Map<string, string[]>;
}

/** Removes every record the mark did not reach. Its deletions are cleaned by this collection's backend phase. */
async function sweep(tx: WriteTx, namespaces: readonly string[], reachable: Set<string>, liveLeases: Set<string>): Promise<SweepResult> {
  const result: SweepResult = { leases: 0, content: 0, ingests: 0, objects: {}, removedSnapshots: new Map() };
  for (const ns of namespaces) {
    const leaseTuple = keys.leases(ns);
    const deadLeases: string[] = [];
    for await (const [k] of tx.entries(under(...leaseTuple))) {
      const id = suffix(k, leaseTuple)[0]!;
      if (!liveLeases.has(`${ns}\x00${id}`)) deadLeases.push(id);
    }
    for (const id of deadLeases) {
      tx.del(keys.lease(ns, id));
      await tx.delRange(under(...keys.leaseResources(ns, id)));
      result.leases++;
    }

    const objTuple = keys.objects(ns);
    const deadObjects: [string, string, StoredObject][] = [];
    for await (const [k, v] of tx.entries(under(...objTuple))) {
      const [kind, id] = suffix(k, objTuple);
      const stored = JSON.parse(v) as StoredObject;
      if (stored.gc.root !== true && !reachable.has(markId(object(ns, kind!, id!)))) deadObjects.push([kind!, id!, stored]);
    }
    for (const [kind, id, stored] of deadObjects) {
      tx.del(keys.object(ns, kind, id));
      result.objects[kind] = (result.objects[kind] ?? 0) + 1;
      if (kind.startsWith(snapshotsKindPrefix)) {
        const snapshotter = kind.slice(snapshotsKindPrefix.length);
        if (stored.gc.backend !== undefined) {
          const list = result.removedSnapshots.get(snapshotter) ?? [];
          list.push(stored.gc.backend);
          result.removedSnapshots.set(snapshotter, list);
        }
      }
    }

    const ingestTuple = keys.ingests(ns);
    const deadIngests: string[] = [];
    for await (const [k] of tx.entries(under(...ingestTuple))) {
      const ref = suffix(k, ingestTuple)[0]!;
      if (!reachable.has(markId({ type: "ingest", ns, a: ref }))) deadIngests.push(ref);
    }
    for (const ref of deadIngests) {
      tx.del(keys.ingest(ns, ref));
      result.ingests++;
    }

    const blobTuple = keys.blobs(ns);
    const deadBlobs: string[] = [];
    for await (const [k] of tx.entries(under(...blobTuple))) {
      const dgst = suffix(k, blobTuple)[0]!;
      if (!reachable.has(markId(content(ns, dgst)))) deadBlobs.push(dgst);
    }
    for (const dgst of deadBlobs) {
      tx.del(keys.blob(ns, dgst));
      result.content++;
    }
  }
  return result;
}

/** Removes backend blobs and ingests that no namespace records (containerd's `contentStore.garbageCollect`). */
async function cleanContent(host: GcHost, backend: ContentStore, signal: AbortSignal): Promise<{ blobs: number; ingests: number }> {
  return host.backendLock("content").runExclusive(async () => {
    const { blobs, refs } = await host.view(async (tx) => {
      const blobs = new Set<string>();
      const refs = new Set<string>();
      for (const ns of await listNamespaces(tx)) {
        for await (const [k] of tx.entries(under(...keys.blobs(ns)))) blobs.add(suffix(k, keys.blobs(ns))[0]!);
        for await (const [, v] of tx.entries(under(...keys.ingests(ns)))) {
          const ingest = JSON.parse(v) as IngestRecord;
          // A shared ingest's blob may live in another namespace only: keep it.
          if (ingest.expected !== undefined) blobs.add(ingest.expected);
          refs.add(ingest.ref);
        }
      }
      return { blobs, refs };
    });
    const ctx = background(signal);
    const doomedBlobs: string[] = [];
    await backend.walk(ctx, (info) => {
      if (!blobs.has(info.digest)) doomedBlobs.push(info.digest);
    });
    let removedBlobs = 0;
    for (const d of doomedBlobs) {
      try {
        await backend.delete(ctx, d);
        removedBlobs++;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    let removedIngests = 0;
    for (const st of await backend.listStatuses(ctx)) {
      if (refs.has(st.ref)) continue;
      try {
        await backend.abort(ctx, st.ref);
        removedIngests++;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return { blobs: removedBlobs, ingests: removedIngests };
  });
}

/** Runs a snapshotter's collector (containerd's `snapshotter.garbageCollect`). */
async function cleanSnapshotter(
  host: GcHost,
  name: string,
  collector: SnapshotterCollector,
  removed: readonly string[],
  signal: AbortSignal,
): Promise<number> {
  return host.backendLock(`${snapshotsKindPrefix}${name}`).runExclusive(async () => {
    let doomed: readonly string[] = removed;
    if (collector.listKeys !== undefined) {
      const kind = `${snapshotsKindPrefix}${name}`;
      const live = await host.view(async (tx) => {
        const live = new Set<string>();
        for (const ns of await listNamespaces(tx)) {
          for await (const [, v] of tx.entries(under(...keys.objectKind(ns, kind)))) {
            const backend = (JSON.parse(v) as StoredObject).gc.backend;
            if (backend !== undefined) live.add(backend);
          }
        }
        return live;
      });
      doomed = (await collector.listKeys(signal)).filter((k) => !live.has(k));
    }
    if (doomed.length > 0) await collector.remove(doomed, signal);
    return doomed.length;
  });
}

/** One full collection; see the module comment. */
export async function runGarbageCollection(host: GcHost, signal: AbortSignal): Promise<GcStats> {
  const startedAt = new Date();
  const t0 = performance.now();
  const { result: swept, dirty } = await host.sweepMetadata(async (tx) => {
    const now = Date.now();
    const namespaces = await listNamespaces(tx);
    const liveLeases = new Set<string>();
    const roots = await scanRoots(tx, namespaces, now, liveLeases);
    const reachable = await mark(tx, roots, signal);
    return sweep(tx, namespaces, reachable, liveLeases);
  });
  const metadataMs = performance.now() - t0;

  const backendErrors: string[] = [];
  let contentMs: number | undefined;
  let backendBlobs = 0;
  let backendIngests = 0;
  if (host.backend !== undefined && (dirty.content || swept.content > 0 || swept.ingests > 0)) {
    const c0 = performance.now();
    try {
      const r = await cleanContent(host, host.backend, signal);
      backendBlobs = r.blobs;
      backendIngests = r.ingests;
    } catch (err) {
      backendErrors.push(`content: ${normalize(err).message}`);
    }
    contentMs = performance.now() - c0;
  }

  const snapshotMs: Record<string, number> = {};
  const snapshots: Record<string, number> = {};
  for (const [name, collector] of host.collectors()) {
    const removed = swept.removedSnapshots.get(name) ?? [];
    const sweptRecords = swept.objects[`${snapshotsKindPrefix}${name}`] ?? 0;
    if (!dirty.allSnapshotters && !dirty.snapshotters.has(name) && sweptRecords === 0) continue;
    const s0 = performance.now();
    try {
      snapshots[name] = await cleanSnapshotter(host, name, collector, removed, signal);
    } catch (err) {
      backendErrors.push(`snapshotter ${name}: ${normalize(err).message}`);
    }
    snapshotMs[name] = performance.now() - s0;
  }

  if (backendErrors.length === 0) await host.clearPersistedDirty(dirty.persisted);

  return {
    startedAt,
    durationMs: performance.now() - t0,
    metadataMs,
    ...(contentMs === undefined ? {} : { contentMs }),
    snapshotMs,
    removed: {
      leases: swept.leases,
      content: swept.content,
      ingests: swept.ingests,
      objects: swept.objects,
      backendBlobs,
      backendIngests,
      snapshots,
    },
    backendErrors,
  };
}
