/**
 * The image store of the metadata database (containerd's `metadata/images.go`): image records kept as
 * objects of kind `images` in each namespace, keyed by the image name (verbatim). A record is a garbage
 * collection root that keeps its target blob alive, plus whatever its labels reference
 * (`containerd.io/gc.ref.content…`, `containerd.io/gc.ref.snapshot.<snapshotter>…`).
 *
 * Stored value (under `v1/ns/<ns>/objects/images/<name>`):
 * `{"v":{"labels":{…},"target":{"mediaType","digest","size","annotations"?},"createdAt","updatedAt"},"gc":{…}}`.
 */
import { AlreadyExistsError, NotFoundError } from "@containerts/errdefs";
import type { Descriptor } from "@containerts/content";
import {
  type DeleteImageOptions,
  type Image,
  type ImageInput,
  type ImageStore,
  applyImageUpdate,
  imageAdaptor,
  normalizeTarget,
  validateImage,
  validateImageName,
} from "@containerts/images";
import { type Context, cleanLabels, namespaceRequired, parseFilters, quoteFilterString } from "@containerts/namespaces";

import type { DB } from "./db.js";
import { defineObjectKind, imagesKindName, labelRefs } from "./objects.js";

/** The stored form of an image (the name is the record id). */
interface ImageRecord {
  readonly labels: Readonly<Record<string, string>>;
  readonly target: Descriptor;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface ImageRecordJson {
  readonly labels?: Record<string, string>;
  readonly target: Descriptor;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The `images` object kind: a GC root referencing its target and its label references. */
const imagesKind = defineObjectKind<ImageRecord>({
  name: imagesKindName,
  gcRefs: (r) => {
    const refs = labelRefs(r.labels);
    return { root: true, content: [r.target.digest, ...refs.content], snapshots: refs.snapshots };
  },
  toJSON: (r): ImageRecordJson => ({
    ...(Object.keys(r.labels).length > 0 ? { labels: { ...r.labels } } : {}),
    target: normalizeTarget(r.target),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  }),
  fromJSON: (v): ImageRecord => {
    const j = v as ImageRecordJson;
    return { labels: j.labels ?? {}, target: j.target, createdAt: new Date(j.createdAt), updatedAt: new Date(j.updatedAt) };
  },
});

function toImage(name: string, r: ImageRecord): Image {
  return { name, labels: { ...r.labels }, target: r.target, createdAt: r.createdAt, updatedAt: r.updatedAt };
}

function notFound(name: string): NotFoundError {
  return new NotFoundError(`image ${quoteFilterString(name)}`);
}

/**
 * {@link ImageStore} over the metadata database. Error contract: as {@link ImageStore}. `delete` with
 * `sync` waits for a collection through the database (its attached GC scheduler when there is one), so
 * blobs referenced only by the image are gone when it returns.
 */
export class MetadataImageStore implements ImageStore {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async get(ctx: Context, name: string): Promise<Image> {
    ctx.signal.throwIfAborted();
    const ns = namespaceRequired(ctx);
    const r = await this.#db.read((tx) => tx.getRecord(imagesKind, ns, name));
    if (r === undefined) throw notFound(name);
    return toImage(name, r);
  }

  async list(ctx: Context, filters: readonly string[] = []): Promise<Image[]> {
    ctx.signal.throwIfAborted();
    const ns = namespaceRequired(ctx);
    const filter = parseFilters(filters);
    return this.#db.view(async (tx) => {
      const out: Image[] = [];
      for await (const [name, r] of tx.listRecords(imagesKind, ns)) {
        const image = toImage(name, r);
        if (filter.match(imageAdaptor(image))) out.push(image);
      }
      return out;
    });
  }

  async create(ctx: Context, image: ImageInput): Promise<Image> {
    ctx.signal.throwIfAborted();
    const ns = namespaceRequired(ctx);
    const labels = cleanLabels(image.labels);
    validateImage({ ...image, labels });
    const target = normalizeTarget(image.target as Descriptor);
    return this.#db.update(async (tx) => {
      if ((await tx.getRecord(imagesKind, ns, image.name)) !== undefined) {
        throw new AlreadyExistsError(`image ${quoteFilterString(image.name)}`);
      }
      const now = new Date();
      const record: ImageRecord = { labels, target, createdAt: now, updatedAt: now };
      await tx.putRecord(imagesKind, ns, image.name, record);
      return toImage(image.name, record);
    });
  }

  async update(ctx: Context, image: ImageInput, fieldpaths: readonly string[] = []): Promise<Image> {
    ctx.signal.throwIfAborted();
    const ns = namespaceRequired(ctx);
    validateImageName(image.name);
    return this.#db.update(async (tx) => {
      const current = await tx.getRecord(imagesKind, ns, image.name);
      if (current === undefined) throw notFound(image.name);
      const next = applyImageUpdate(toImage(image.name, current), image, fieldpaths);
      const record: ImageRecord = { labels: next.labels, target: next.target, createdAt: current.createdAt, updatedAt: new Date() };
      await tx.putRecord(imagesKind, ns, image.name, record);
      return toImage(image.name, record);
    });
  }

  async delete(ctx: Context, name: string, options: DeleteImageOptions = {}): Promise<void> {
    ctx.signal.throwIfAborted();
    const ns = namespaceRequired(ctx);
    await this.#db.update(async (tx) => {
      if (!(await tx.deleteRecord(imagesKind, ns, name))) throw notFound(name);
    });
    if (options.sync === true) await this.#db.collectAndWait(ctx.signal);
  }
}
