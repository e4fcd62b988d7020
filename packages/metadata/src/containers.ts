/**
 * The container store on the metadata database (containerd's `metadata/containers.go`): container records
 * in the `containers` object bucket of each namespace. A container is a garbage-collection root: it keeps
 * its snapshot (`snapshotter`/`snapshotKey`) and what its `containerd.io/gc.ref.*` labels name.
 */
import {
  type AnyValue,
  type Container,
  type ContainerInput,
  type ContainerStore,
  adaptContainer,
  applyContainerUpdate,
  normalizeContainer,
  parseContainerFilters,
  validateContainer,
} from "@containerts/containers";
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, normalize, withContext } from "@containerts/errdefs";
import { type Context, cleanLabels, namespaceRequired } from "@containerts/namespaces";

import type { DB } from "./db.js";
import { type GcRefs, type ObjectKind, containersKindName, defineObjectKind, labelRefs } from "./objects.js";
import { keys, under } from "./schema.js";
import type { ReadTx } from "./tx.js";

/** The stored JSON form of an Any: bytes in base64. */
interface StoredAny {
  readonly typeUrl: string;
  readonly value: string;
}

/** The stored JSON form of a container record. */
interface StoredContainer {
  readonly id: string;
  readonly labels: Record<string, string>;
  readonly image: string;
  readonly runtime: { readonly name: string; readonly options?: StoredAny };
  readonly spec?: StoredAny;
  readonly snapshotter: string;
  readonly snapshotKey: string;
  /** ISO 8601 times. */
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly extensions: Record<string, StoredAny>;
}

function anyToJSON(a: AnyValue): StoredAny {
  return { typeUrl: a.typeUrl, value: Buffer.from(a.value.buffer, a.value.byteOffset, a.value.byteLength).toString("base64") };
}

function anyFromJSON(a: StoredAny): AnyValue {
  const b = Buffer.from(a.value, "base64");
  return { typeUrl: a.typeUrl, value: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
}

function mapValues<A, B>(m: Readonly<Record<string, A>>, fn: (a: A) => B): Record<string, B> {
  const out: Record<string, B> = {};
  for (const [k, v] of Object.entries(m)) Object.defineProperty(out, k, { value: fn(v), enumerable: true, writable: true, configurable: true });
  return out;
}

/** The GC edges of a container: a root, with its snapshot and its label references. */
function containerGcRefs(c: Container): GcRefs {
  const refs = labelRefs(c.labels);
  const snapshots = [...refs.snapshots];
  if (c.snapshotter !== "" && c.snapshotKey !== "") snapshots.unshift({ snapshotter: c.snapshotter, key: c.snapshotKey });
  return { root: true, content: refs.content, snapshots };
}

/** The object kind of container records (bucket `containers`). */
export const containersKind: ObjectKind<Container> = defineObjectKind<Container>({
  name: containersKindName,
  gcRefs: containerGcRefs,
  toJSON: (c): StoredContainer => ({
    id: c.id,
    labels: { ...c.labels },
    image: c.image,
    runtime: c.runtime.options === undefined ? { name: c.runtime.name } : { name: c.runtime.name, options: anyToJSON(c.runtime.options) },
    ...(c.spec === undefined ? {} : { spec: anyToJSON(c.spec) }),
    snapshotter: c.snapshotter,
    snapshotKey: c.snapshotKey,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    extensions: mapValues(c.extensions, anyToJSON),
  }),
  fromJSON: (value): Container => {
    const s = value as StoredContainer;
    return {
      id: s.id,
      labels: { ...s.labels },
      image: s.image,
      runtime: s.runtime.options === undefined ? { name: s.runtime.name } : { name: s.runtime.name, options: anyFromJSON(s.runtime.options) },
      ...(s.spec === undefined ? {} : { spec: anyFromJSON(s.spec) }),
      snapshotter: s.snapshotter,
      snapshotKey: s.snapshotKey,
      createdAt: new Date(s.createdAt),
      updatedAt: new Date(s.updatedAt),
      extensions: mapValues(s.extensions, anyFromJSON),
    };
  },
});

/** Throws the context's abort reason as a containerts error (Canceled, DeadlineExceeded) once aborted. */
function checkSignal(ctx: Context): void {
  if (ctx.signal.aborted) throw normalize(ctx.signal.reason);
}

/** True when namespace `ns` holds at least one container (containerd's "containers bucket exists"). */
async function hasContainers(tx: ReadTx, ns: string): Promise<boolean> {
  return !(await tx.isEmpty(under(...keys.objectKind(ns, containersKindName))));
}

/**
 * The {@link ContainerStore} of the metadata database, with containerd's error contract (see the
 * interface). Writes go through `db.update` (serialized, durable when the promise resolves); reads through
 * a consistent `db.view`.
 */
export class MetadataContainerStore implements ContainerStore {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async get(ctx: Context, id: string): Promise<Container> {
    const ns = namespaceRequired(ctx);
    checkSignal(ctx);
    const c = await this.#db.read((tx) => tx.getRecord(containersKind, ns, id));
    if (c === undefined) throw new NotFoundError(`container ${JSON.stringify(id)} in namespace ${JSON.stringify(ns)}`);
    return c;
  }

  async list(ctx: Context, filters: readonly string[] = []): Promise<Container[]> {
    const ns = namespaceRequired(ctx);
    const filter = parseContainerFilters(filters);
    checkSignal(ctx);
    return this.#db.view(async (tx) => {
      const out: Container[] = [];
      for await (const [, c] of tx.listRecords(containersKind, ns)) {
        if (filter.match(adaptContainer(c))) out.push(c);
      }
      return out;
    });
  }

  async create(ctx: Context, input: ContainerInput): Promise<Container> {
    const ns = namespaceRequired(ctx);
    try {
      validateContainer(input);
    } catch (err) {
      throw withContext(err, "create container failed validation");
    }
    checkSignal(ctx);
    return this.#db.update(async (tx) => {
      if ((await tx.getRecord(containersKind, ns, input.id)) !== undefined) {
        throw new AlreadyExistsError(`container ${JSON.stringify(input.id)}`);
      }
      const now = new Date();
      const c = normalizeContainer({ ...input, createdAt: now, updatedAt: now }, now);
      const stored: Container = { ...c, labels: cleanLabels(c.labels) };
      await tx.putRecord(containersKind, ns, stored.id, stored);
      return stored;
    });
  }

  async update(ctx: Context, input: ContainerInput, fieldpaths: readonly string[] = []): Promise<Container> {
    const ns = namespaceRequired(ctx);
    if (input.id === "") throw new InvalidArgumentError("must specify a container id");
    checkSignal(ctx);
    return this.#db.update(async (tx) => {
      const stored = await tx.getRecord(containersKind, ns, input.id);
      if (stored === undefined) {
        if (!(await hasContainers(tx, ns))) {
          throw new NotFoundError(`cannot update container ${JSON.stringify(input.id)} in namespace ${JSON.stringify(ns)}`);
        }
        throw new NotFoundError(`container ${JSON.stringify(input.id)}`);
      }
      const updated = applyContainerUpdate(stored, input, fieldpaths, new Date());
      await tx.putRecord(containersKind, ns, updated.id, updated);
      return updated;
    });
  }

  async delete(ctx: Context, id: string): Promise<void> {
    const ns = namespaceRequired(ctx);
    checkSignal(ctx);
    await this.#db.update(async (tx) => {
      if (await tx.deleteRecord(containersKind, ns, id)) return;
      if (!(await hasContainers(tx, ns))) {
        throw new NotFoundError(`cannot delete container ${JSON.stringify(id)} in namespace ${JSON.stringify(ns)}`);
      }
      throw new NotFoundError(`container ${id}`);
    });
  }
}
