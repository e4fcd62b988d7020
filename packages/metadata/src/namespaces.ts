/**
 * The namespace store (containerd's `metadata/namespaces.go` plus the update logic of
 * `services/namespaces/local.go`). A namespace exists once it is created explicitly or once anything
 * is written in it.
 */
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "@containerts/errdefs";
import {
  type Context,
  type Namespace,
  type NamespaceStore,
  applyLabelPaths,
  cleanLabels,
  validateIdentifier,
  validateLabels,
} from "@containerts/namespaces";

import type { DB } from "./db.js";
import { containersKindName, imagesKindName, snapshotsKindPrefix } from "./objects.js";
import { keys, suffix, under } from "./schema.js";
import type { ReadTx } from "./tx.js";

/**
 * The namespace store of the metadata database: `@containerts/namespaces`' {@link NamespaceStore}
 * plus the label accessors the daemon's defaults use. Not namespaced itself: `ctx` only carries
 * cancellation. Error contract: as {@link NamespaceStore}; `create`/`update` also throw
 * InvalidArgumentError for an invalid name; `delete` also removes the namespace's leases and ingests
 * (they do not block it).
 */
export interface MetadataNamespaceStore extends NamespaceStore {
  /** The labels of a namespace (empty when unknown), e.g. `containerd.io/defaults/snapshotter`. */
  labels(ctx: Context, name: string): Promise<Record<string, string>>;
  /**
   * Sets (or, with `""`, removes) one label, creating the namespace if needed.
   * @throws InvalidArgumentError for a label that is too large or an invalid name.
   */
  setLabel(ctx: Context, name: string, key: string, value: string): Promise<void>;
}

interface NamespaceRecord {
  readonly labels: Readonly<Record<string, string>>;
}

function checkName(name: string): void {
  validateIdentifier(name);
}

/** The kinds of objects left in a namespace, worded as containerd's namespace delete error. */
async function remainingKinds(tx: ReadTx, ns: string): Promise<string[]> {
  const out: string[] = [];
  const objectKinds: string[] = [];
  const tuple = keys.objects(ns);
  // Visit one key per kind: after each kind, jump past its range.
  let range = under(...tuple);
  for (;;) {
    const k = await tx.firstKey(range);
    if (k === undefined) break;
    const kind = suffix(k, tuple)[0]!;
    objectKinds.push(kind);
    range = { gte: under(...keys.objectKind(ns, kind)).lt, lt: range.lt };
  }
  if (objectKinds.includes(imagesKindName)) out.push("images");
  if (!(await tx.isEmpty(under(...keys.blobs(ns))))) out.push("blobs");
  if (objectKinds.includes(containersKindName)) out.push("containers");
  for (const kind of objectKinds) {
    if (kind.startsWith(snapshotsKindPrefix)) out.push(`snapshots on ${JSON.stringify(kind.slice(snapshotsKindPrefix.length))} snapshotter`);
  }
  for (const kind of objectKinds) {
    if (kind !== imagesKindName && kind !== containersKindName && !kind.startsWith(snapshotsKindPrefix)) out.push(kind);
  }
  return out;
}

/** Creates the namespace store of `db`. */
export function createNamespaceStore(db: DB): MetadataNamespaceStore {
  const readLabels = async (tx: ReadTx, name: string) =>
    ({ ...((await tx.getJson<NamespaceRecord>(keys.namespace(name)))?.labels ?? {}) }) as Record<string, string>;

  const store: MetadataNamespaceStore = {
    async create(ctx, name, labels = {}) {
      ctx.signal.throwIfAborted();
      checkName(name);
      const clean = cleanLabels(labels);
      validateLabels(clean);
      await db.update(async (tx) => {
        if (await tx.namespaceExists(name)) throw new AlreadyExistsError(`namespace ${JSON.stringify(name)}`);
        tx.putJson(keys.namespace(name), { labels: clean } satisfies NamespaceRecord);
      });
      return { name, labels: clean };
    },

    async get(ctx, name) {
      ctx.signal.throwIfAborted();
      return { name, labels: await db.view((tx) => readLabels(tx, name)) };
    },

    async labels(ctx, name) {
      ctx.signal.throwIfAborted();
      return db.view((tx) => readLabels(tx, name));
    },

    async list(ctx) {
      ctx.signal.throwIfAborted();
      return db.view(async (tx) => {
        const out: Namespace[] = [];
        for await (const [k, v] of tx.entries(under(...keys.namespaces))) {
          out.push({ name: suffix(k, keys.namespaces)[0]!, labels: { ...(JSON.parse(v) as NamespaceRecord).labels } });
        }
        return out;
      });
    },

    async update(ctx, namespace, fieldpaths = []) {
      ctx.signal.throwIfAborted();
      checkName(namespace.name);
      return db.update(async (tx) => {
        const current = await readLabels(tx, namespace.name);
        // Only `labels.<key>` paths: the namespaces service does not accept a bare `labels`.
        const labels = applyLabelPaths(current, namespace.labels, fieldpaths, { allowWhole: false });
        validateLabels(labels);
        tx.putJson(keys.namespace(namespace.name), { labels } satisfies NamespaceRecord);
        return { name: namespace.name, labels: { ...labels } };
      });
    },

    async setLabel(ctx, name, key, value) {
      await store.update(ctx, { name, labels: { [key]: value } }, [`labels.${key}`]);
    },

    async delete(ctx, name) {
      ctx.signal.throwIfAborted();
      await db.update(async (tx) => {
        if (!(await tx.namespaceExists(name))) throw new NotFoundError(`namespace ${JSON.stringify(name)}`);
        const kinds = await remainingKinds(tx, name);
        if (kinds.length > 0) {
          throw new FailedPreconditionError(`namespace ${JSON.stringify(name)} must be empty, but it still has ${kinds.join(", ")}`);
        }
        tx.del(keys.namespace(name));
        const ingests = await tx.delRange(under(...keys.ingests(name)));
        await tx.delRange(under(...keys.nsRoot(name)));
        if (ingests > 0) tx.markDirty("content");
      });
    },
  };
  return store;
}
