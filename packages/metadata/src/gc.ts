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
 * Phases: mark and sweep run in one metadata update (the write lock is held; reads go on), over what one
 * pass through each namespace's records found (each record read and parsed once), then,
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
  /** The keys of its resources (all of them, whatever their shape), for the sweep. */
  readonly resourceKeys: string[];
}

/** What one pass over a namespace's records found: everything marking and sweeping need. */
interface NamespaceScan {
  readonly ns: string;
  readonly leases: Map<string, LeaseState>;
  /** Lease resources as `[lease id, type, x, y]` key components. */
  readonly resources: (readonly (string | undefined)[])[];
  /** Objects by `kind \0 id`. */
  readonly objects: Map<string, { readonly kind: string; readonly id: string; readonly stored: StoredObject }>;
  readonly blobs: Map<string, BlobRecord>;
  readonly ingests: Map<string, IngestRecord>;
}

const objectKey = (kind: string, id: string): string => `${kind}\x00${id}`;

/**
 * Reads every record of namespace `ns` a collection looks at, in one pass over the namespace's key range
 * (one iterator rather than one per record type, and each record parsed once: marking and sweeping then
 * work on what this pass found, inside the same write transaction).
 */
async function scanNamespace(tx: ReadTx, ns: string, now: number): Promise<NamespaceScan> {
  const scan: NamespaceScan = { ns, leases: new Map(), resources: [], objects: new Map(), blobs: new Map(), ingests: new Map() };
  const root = keys.nsRoot(ns);
  const resourceKeys: [string, string][] = [];
  for await (const [k, v] of tx.entries(under(...root))) {
    const parts = suffix(k, root);
    switch (parts[0]) {
      case "leases":
        if (parts.length === 2) {
          const lease = JSON.parse(v) as LeaseRecord;
          const exp = lease.labels[labelGcExpire];
          // An unparsable expiry is ignored (the lease stays), as containerd does.
          const expiresAt = exp === undefined ? undefined : parseExpiration(exp);
          scan.leases.set(parts[1]!, {
            live: expiresAt === undefined || expiresAt.getTime() >= now,
            flat: Object.hasOwn(lease.labels, labelGcFlat),
            resourceKeys: [],
          });
        }
        break;
      case "lease-resources":
        if (parts.length >= 3) {
          scan.resources.push(parts.slice(1));
          resourceKeys.push([parts[1]!, k]);
        }
        break;
      case "objects":
        if (parts.length === 3) {
          const [kind, id] = [parts[1]!, parts[2]!];
          scan.objects.set(objectKey(kind, id), { kind, id, stored: JSON.parse(v) as StoredObject });
        }
        break;
      case "content":
        if (parts.length === 3 && parts[1] === "blob") scan.blobs.set(parts[2]!, JSON.parse(v) as BlobRecord);
        else if (parts.length === 3 && parts[1] === "ingest") scan.ingests.set(parts[2]!, JSON.parse(v) as IngestRecord);
        break;
      default:
        break;
    }
  }
  // Lease resources sort before leases ("lease-resources" < "leases"): attach them once both are read.
  for (const [id, k] of resourceKeys) scan.leases.get(id)?.resourceKeys.push(k);
  return scan;
}

/** The roots of one namespace (containerd's `scanRoots`), from its scan. */
function roots(scan: NamespaceScan, now: number): Node[] {
  const out: Node[] = [];
  const { ns } = scan;
  for (const [id, type, x, y] of scan.resources) {
    const state = scan.leases.get(id!);
    if (state === undefined || !state.live) continue;
    if (type === "content" && x !== undefined) out.push(content(ns, x, state.flat));
    else if (type === "ingests" && x !== undefined) out.push({ type: "ingest", ns, a: x });
    else if (type === "snapshots" && x !== undefined && y !== undefined) out.push(snapshot(ns, x, y, state.flat));
  }
  for (const { kind, id, stored } of scan.objects.values()) if (stored.gc.root === true) out.push(object(ns, kind, id));
  for (const [dgst, blob] of scan.blobs) if (Object.hasOwn(blob.labels, labelGcRoot)) out.push(content(ns, dgst));
  for (const [ref, ingest] of scan.ingests) {
    if (ingest.expireAt !== undefined && Date.parse(ingest.expireAt) > now) out.push({ type: "ingest", ns, a: ref });
  }
  return out;
}

/** The nodes `n` refers to, from the scan of its namespace. */
function references(scan: NamespaceScan | undefined, n: Node): Node[] {
  if (scan === undefined) return [];
  switch (n.type) {
    case "content": {
      const blob = scan.blobs.get(n.a);
      if (blob === undefined) return [];
      const refs = labelRefs(blob.labels);
      return [...refs.content.map((d) => content(n.ns, d)), ...refs.snapshots.map((s) => snapshot(n.ns, s.snapshotter, s.key))];
    }
    case "object":
    case "objectFlat": {
      const stored = scan.objects.get(objectKey(n.a, n.b!))?.stored;
      if (stored === undefined) return [];
      const flat = n.type === "objectFlat";
      const out = (stored.gc.parents ?? []).map(([s, key]) => snapshot(n.ns, s, key, flat));
      if (flat) return out;
      for (const d of stored.gc.content ?? []) out.push(content(n.ns, d));
      for (const [s, key] of stored.gc.snapshots ?? []) out.push(snapshot(n.ns, s, key));
      return out;
    }
    case "ingest": {
      const ingest = scan.ingests.get(n.a);
      return ingest?.expected === undefined ? [] : [content(n.ns, ingest.expected)];
    }
    case "contentFlat":
      return [];
  }
}

/** Tricolor marking (containerd's `gc.Tricolor`): the mark ids of every node reachable from `roots`. */
function mark(scans: ReadonlyMap<string, NamespaceScan>, roots: readonly Node[], signal: AbortSignal): Set<string> {
  const grays = [...roots];
  const seen = new Set<string>();
  const reachable = new Set<string>();
  while (grays.length > 0) {
    signal.throwIfAborted();
    const n = grays.pop()!;
    const id = nodeId(n);
    if (seen.has(id)) continue;
    seen.add(id);
    for (const r of references(scans.get(n.ns), n)) if (!seen.has(nodeId(r))) grays.push(r);
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
function sweep(tx: WriteTx, scans: ReadonlyMap<string, NamespaceScan>, reachable: Set<string>): SweepResult {
  const result: SweepResult = { leases: 0, content: 0, ingests: 0, objects: {}, removedSnapshots: new Map() };
  for (const { ns, leases, objects, ingests, blobs } of scans.values()) {
    for (const [id, state] of leases) {
      if (state.live) continue;
      tx.del(keys.lease(ns, id));
      for (const k of state.resourceKeys) tx.del(k);
      result.leases++;
    }
    for (const { kind, id, stored } of objects.values()) {
      if (stored.gc.root === true || reachable.has(markId(object(ns, kind, id)))) continue;
      tx.del(keys.object(ns, kind, id));
      result.objects[kind] = (result.objects[kind] ?? 0) + 1;
      if (kind.startsWith(snapshotsKindPrefix) && stored.gc.backend !== undefined) {
        const snapshotter = kind.slice(snapshotsKindPrefix.length);
        const list = result.removedSnapshots.get(snapshotter) ?? [];
        list.push(stored.gc.backend);
        result.removedSnapshots.set(snapshotter, list);
      }
    }
    for (const ref of ingests.keys()) {
      if (reachable.has(markId({ type: "ingest", ns, a: ref }))) continue;
      tx.del(keys.ingest(ns, ref));
      result.ingests++;
    }
    for (const dgst of blobs.keys()) {
      if (reachable.has(markId(content(ns, dgst)))) continue;
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
    const scans = new Map<string, NamespaceScan>();
    for (const ns of await listNamespaces(tx)) scans.set(ns, await scanNamespace(tx, ns, now));
    const reachable = mark(scans, [...scans.values()].flatMap((scan) => roots(scan, now)), signal);
    return sweep(tx, scans, reachable);
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
