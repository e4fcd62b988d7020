/**
 * The image record and the image store's contract (containerd's `images.Image` and `images.Store`), plus
 * the pure rules every implementation shares: validation, update field masks and the filter adaptor.
 *
 * An image is a name pointing at a root descriptor (`target`), usually an OCI index / Docker manifest
 * list or a single manifest, with labels and timestamps. The store holds records only: what the target
 * refers to lives in the content store, and the image model functions (`manifest`, `config`, `size`, …)
 * read it from there.
 */
import type { Descriptor } from "@containerts/content";
import { digestAlgorithms, isDigest } from "@containerts/content";
import { InvalidArgumentError, withContext } from "@containerts/errdefs";
import { type Adaptor, type Context, adaptFields, cleanLabels, quoteFilterString, validateLabels } from "@containerts/namespaces";

/** An image record (containerd's `images.Image`). */
export interface Image {
  /** The image name, stored verbatim (usually a reference such as `docker.io/library/busybox:latest`). */
  readonly name: string;
  /** Labels; an empty object when there are none. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * The root of the image: an index, manifest list or manifest. Stored: media type, digest, size and
   * annotations (`urls` and `platform` are not kept, as upstream).
   */
  readonly target: Descriptor;
  /** When the record was created (set by the store). */
  readonly createdAt: Date;
  /** When the record was last changed (set by the store). */
  readonly updatedAt: Date;
}

/**
 * What {@link ImageStore.create} and {@link ImageStore.update} take: an image whose timestamps, if
 * present, are ignored (the store sets them), and whose labels and target may be left out where a field
 * mask does not need them.
 */
export interface ImageInput {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly target?: Partial<Descriptor>;
  readonly createdAt?: Date;
  readonly updatedAt?: Date;
}

/** Options of {@link ImageStore.delete}. */
export interface DeleteImageOptions {
  /** Run a garbage collection and wait for it before returning (`ctr images rm --sync`). */
  readonly sync?: boolean;
}

/**
 * Stores image records per namespace (containerd's `images.Store`). Every method needs a namespace in
 * `ctx` (FailedPreconditionError `namespace is required` otherwise; InvalidArgumentError for an invalid
 * one) and throws CanceledError when `ctx.signal` aborts.
 *
 * Implementations: the metadata store (`@containerts/metadata`), the service layer that adds events
 * ({@link createImageService}), and the gRPC proxy (`@containerts/images/proxy`).
 */
export interface ImageStore {
  /**
   * The image `name`.
   * @throws NotFoundError `image "<name>"` when there is none.
   */
  get(ctx: Context, name: string): Promise<Image>;
  /**
   * The images matching any of `filters` (containerd's filter syntax over `name`, `target.digest`,
   * `target.mediatype`, `labels.<key>`, `annotations.<key>` — the target's annotations), in name order.
   * No filters, or `[""]`, list all.
   * @throws InvalidArgumentError when a filter does not parse.
   */
  list(ctx: Context, filters?: readonly string[]): Promise<Image[]>;
  /**
   * Creates an image; `createdAt` = `updatedAt` = now (timestamps in `image` are ignored). Labels with
   * an empty value are dropped.
   * @throws InvalidArgumentError `Image.Name required` for an empty name; for labels over 4096 bytes;
   *   `Target.Digest "<d>" invalid: …`, `Target.Size must be greater than zero` or
   *   `Target.MediaType must be set` for a bad target.
   * @throws AlreadyExistsError `image "<name>"` when the name is taken.
   */
  create(ctx: Context, image: ImageInput): Promise<Image>;
  /**
   * Updates an image and returns the result (see {@link applyImageUpdate} for the field paths: `labels`,
   * `labels.<key>`, `target`, `annotations`, `annotations.<key>`; none replaces labels and target).
   * `createdAt` is kept, `updatedAt` = now.
   * @throws InvalidArgumentError `Image.Name required`; `cannot update "<p>" field on image "<name>"`
   *   for another path; for an invalid result (labels, target) as in `create`.
   * @throws NotFoundError `image "<name>"` when there is none.
   */
  update(ctx: Context, image: ImageInput, fieldpaths?: readonly string[]): Promise<Image>;
  /**
   * Deletes an image record (its content is left to garbage collection); with `sync`, waits for a
   * collection before returning.
   * @throws NotFoundError `image "<name>"` when there is none.
   */
  delete(ctx: Context, name: string, options?: DeleteImageOptions): Promise<void>;
}

/**
 * Anything that can hand out an image store: the narrow shape the images service plugin needs from the
 * metadata plugin.
 */
export interface ImageStoreSource {
  /** The (namespaced) image store. */
  imageStore(): ImageStore;
}

/** The `%q` form containerd's messages use for names and values. */
function q(s: string): string {
  return quoteFilterString(s);
}

/** The reason go-digest's `Digest.Validate` gives for an invalid digest, or undefined when it is valid. */
function digestProblem(d: string): string | undefined {
  if (isDigest(d)) return undefined;
  const i = d.indexOf(":");
  if (i <= 0 || i + 1 === d.length) return "invalid checksum digest format";
  const algorithm = d.slice(0, i);
  const encoded = d.slice(i + 1);
  const lengths: Readonly<Record<string, number>> = digestAlgorithms;
  const want = Object.hasOwn(lengths, algorithm) ? lengths[algorithm] : undefined;
  if (want === undefined) {
    return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(d) ? "unsupported digest algorithm" : "invalid checksum digest format";
  }
  if (encoded.length !== want) return "invalid checksum digest length";
  return "invalid checksum digest format";
}

/**
 * Checks an image target the way containerd's metadata store does: a valid digest, a size above zero
 * and a media type.
 * @throws InvalidArgumentError `Target.Digest "<d>" invalid: <reason>`, `Target.Size must be greater
 *   than zero` or `Target.MediaType must be set`.
 */
export function validateTarget(target: Partial<Descriptor> | undefined): asserts target is Descriptor {
  const digest = target?.digest ?? "";
  const problem = digestProblem(digest);
  if (problem !== undefined) throw new InvalidArgumentError(`Target.Digest ${q(digest)} invalid: ${problem}`);
  const size = target?.size ?? 0;
  if (!(size > 0)) throw new InvalidArgumentError("Target.Size must be greater than zero");
  if (!Number.isSafeInteger(size)) throw new InvalidArgumentError(`Target.Size ${size} is not an integer below 2^53`);
  if ((target?.mediaType ?? "") === "") throw new InvalidArgumentError("Target.MediaType must be set");
}

/**
 * Checks that an image has a name.
 * @throws InvalidArgumentError `Image.Name required` (the exact message of containerd's images service).
 */
export function validateImageName(name: string | undefined): asserts name is string {
  if (name === undefined || name === "") throw new InvalidArgumentError("Image.Name required", { bare: true });
}

/**
 * Checks a whole image before it is stored: name, labels (4096 bytes per label) and target.
 * @throws InvalidArgumentError as {@link validateImageName}, `image.Labels: label key and value greater
 *   than maximum size …`, or as {@link validateTarget}.
 */
export function validateImage(image: ImageInput): void {
  validateImageName(image.name);
  try {
    validateLabels(image.labels ?? {});
  } catch (err) {
    throw withContext(err, "image.Labels");
  }
  validateTarget(image.target);
}

/** The stored form of a target: media type, digest, size and non-empty annotations only. */
export function normalizeTarget(target: Descriptor): Descriptor {
  const annotations = cleanLabels(target.annotations);
  return {
    mediaType: target.mediaType,
    digest: target.digest,
    size: target.size,
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}

/**
 * Computes the image an update produces, without timestamps (containerd's `imageStore.Update`):
 *
 * - no field paths: `labels` and `target` are replaced by the update's;
 * - `labels`: the labels are replaced; `labels.<key>` sets one label (absent or empty value: unset);
 *   the key is everything after the first `labels.`;
 * - `target`: the whole target (with its annotations) is replaced;
 * - `annotations`: the target's annotations are replaced; `annotations.<key>` sets one.
 *
 * The result is validated (`validateImage`) and has no empty label or annotation values.
 *
 * @throws InvalidArgumentError `cannot update "<p>" field on image "<name>"` for any other path; as
 *   {@link validateImage} for an invalid result.
 */
export function applyImageUpdate(
  current: Pick<Image, "name" | "labels" | "target">,
  update: ImageInput,
  fieldpaths: readonly string[] = [],
): { name: string; labels: Record<string, string>; target: Descriptor } {
  let labels: Record<string, string>;
  let target: Partial<Descriptor> | undefined;
  if (fieldpaths.length === 0) {
    labels = { ...(update.labels ?? {}) };
    target = update.target;
  } else {
    labels = { ...current.labels };
    let annotations: Record<string, string> = { ...(current.target.annotations ?? {}) };
    target = current.target;
    for (const path of fieldpaths) {
      if (path.startsWith("labels.")) {
        const key = path.slice("labels.".length);
        setOrDelete(labels, key, own(update.labels, key));
        continue;
      }
      if (path.startsWith("annotations.")) {
        const key = path.slice("annotations.".length);
        setOrDelete(annotations, key, own(update.target?.annotations, key));
        target = { ...target, annotations };
        continue;
      }
      switch (path) {
        case "labels":
          labels = { ...(update.labels ?? {}) };
          break;
        case "target":
          target = update.target;
          annotations = { ...(update.target?.annotations ?? {}) };
          break;
        case "annotations":
          annotations = { ...(update.target?.annotations ?? {}) };
          target = { ...target, annotations };
          break;
        default:
          throw new InvalidArgumentError(`cannot update ${q(path)} field on image ${q(update.name)}`);
      }
    }
  }
  const result: ImageInput = { name: update.name, labels: cleanLabels(labels), ...(target !== undefined ? { target } : {}) };
  validateImage(result);
  return { name: update.name, labels: cleanLabels(labels), target: normalizeTarget(result.target as Descriptor) };
}

function own(map: Readonly<Record<string, string>> | undefined, key: string): string | undefined {
  return map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
}

function setOrDelete(map: Record<string, string>, key: string, value: string | undefined): void {
  if (value === undefined || value === "") {
    delete map[key];
    return;
  }
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The filter fields of an image (containerd's `adaptImage`): `name`, `target.digest`,
 * `target.mediatype`, `labels.<key>` and `annotations.<key>` (the target's annotations). Empty values
 * count as absent.
 */
export function imageAdaptor(image: Pick<Image, "name" | "labels" | "target">): Adaptor {
  return adaptFields(
    {
      name: image.name || undefined,
      "target.digest": image.target.digest || undefined,
      "target.mediatype": image.target.mediaType || undefined,
    },
    { labels: image.labels, annotations: image.target.annotations },
  );
}
