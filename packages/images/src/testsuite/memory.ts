/**
 * An in-memory {@link ImageStore}: the reference implementation of the store's rules (the shared
 * validation, masks and filters of the root entry) for tests of code that needs an image store but no
 * database. Records live as long as the object; nothing is collected.
 */
import { AlreadyExistsError, NotFoundError } from "@containerts/errdefs";
import { type Context, cleanLabels, namespaceRequired, parseFilters, quoteFilterString } from "@containerts/namespaces";

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
} from "../image.js";

/** {@link ImageStore} kept in a map per namespace. */
export class MemoryImageStore implements ImageStore {
  readonly #namespaces = new Map<string, Map<string, Image>>();

  #ns(ctx: Context): Map<string, Image> {
    ctx.signal.throwIfAborted();
    const ns = namespaceRequired(ctx);
    let m = this.#namespaces.get(ns);
    if (m === undefined) {
      m = new Map();
      this.#namespaces.set(ns, m);
    }
    return m;
  }

  async get(ctx: Context, name: string): Promise<Image> {
    const image = this.#ns(ctx).get(name);
    if (image === undefined) throw new NotFoundError(`image ${quoteFilterString(name)}`);
    return image;
  }

  async list(ctx: Context, filters: readonly string[] = []): Promise<Image[]> {
    const images = this.#ns(ctx);
    const filter = parseFilters(filters);
    return [...images.values()].filter((i) => filter.match(imageAdaptor(i))).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async create(ctx: Context, image: ImageInput): Promise<Image> {
    const images = this.#ns(ctx);
    const labels = cleanLabels(image.labels);
    validateImage({ ...image, labels });
    if (images.has(image.name)) throw new AlreadyExistsError(`image ${quoteFilterString(image.name)}`);
    const now = new Date();
    const created: Image = { name: image.name, labels, target: normalizeTarget(image.target as Image["target"]), createdAt: now, updatedAt: now };
    images.set(image.name, created);
    return created;
  }

  async update(ctx: Context, image: ImageInput, fieldpaths: readonly string[] = []): Promise<Image> {
    const images = this.#ns(ctx);
    validateImageName(image.name);
    const current = images.get(image.name);
    if (current === undefined) throw new NotFoundError(`image ${quoteFilterString(image.name)}`);
    const next = applyImageUpdate(current, image, fieldpaths);
    const updated: Image = { ...next, createdAt: current.createdAt, updatedAt: new Date() };
    images.set(image.name, updated);
    return updated;
  }

  async delete(ctx: Context, name: string, _options?: DeleteImageOptions): Promise<void> {
    if (!this.#ns(ctx).delete(name)) throw new NotFoundError(`image ${quoteFilterString(name)}`);
  }
}
