/**
 * Fetching an image from a registry into the content service (containerd's `Client.Fetch` with
 * `remotes.FetchHandler`, `images.Dispatch`, the children and distribution-source handlers).
 *
 * The reference is resolved, then the index/manifest tree is walked: every blob is written through the
 * content service under containerd's ref (`index-…`, `manifest-…`, `config-…`, `layer-…`) with its
 * expected size and digest, so the store verifies the bytes at commit. Blobs download concurrently (a
 * bounded number at a time); an ingest left by an earlier attempt is resumed with a ranged request and
 * a stream cut mid-body is retried from where it stopped. Parents get the `containerd.io/gc.ref.content.*`
 * labels of their children and every blob the `containerd.io/distribution.source.<host>` label.
 */
import type { ContentWriter, Descriptor, Digest } from "@containerts/content";
import { openWriter, readBlob } from "@containerts/content";
import {
  FailedPreconditionError,
  NotImplementedError,
  UnavailableError,
  isAlreadyExists,
  isFailedPrecondition,
  isNotFound,
  isUnavailable,
  withContext,
} from "@containerts/errdefs";
import {
  type Image,
  type ImageManifest,
  type PlatformMatchComparer,
  MediaType,
  childrenGcLabels,
  filterPlatforms,
  isIndexType,
  isManifestType,
  labelDistributionSourcePrefix,
  limitManifests,
  maxManifestSize,
  parseIndex,
  parseManifest,
} from "@containerts/images";
import { type Context, validateLabel } from "@containerts/namespaces";

import { Deferred, Semaphore, TaskGroup, abortError, sleep } from "../internal/concurrency.js";
import { SourceError, pump } from "../internal/pump.js";
import type { Credentials } from "../remotes/auth.js";
import { type Reference, parseReference } from "../remotes/reference.js";
import { Registry, type RegistryOptions } from "../remotes/registry.js";
import { withLease } from "../lease.js";
import { type PlatformSpec, anyPlatform, orderedMatcher } from "./platform.js";
import { type ProgressFn, report } from "./progress.js";
import { type ImageServices, refKey } from "./services.js";

/** How to reach a registry. */
export interface RemoteOptions {
  /** Talk plain HTTP (default: only to localhost / 127.0.0.1 / ::1, as containerd). */
  readonly plainHttp?: boolean;
  /** Credentials (basic, or exchanged for a bearer token when the registry asks). */
  readonly auth?: Credentials;
  /** Further registry client options (a `fetch` implementation, HTTP retries). */
  readonly registry?: Omit<RegistryOptions, "plainHttp" | "credentials">;
}

/** Options of {@link fetchImage}. */
export interface FetchOptions extends RemoteOptions {
  /**
   * The platforms to fetch, preferred in order (default: the host's, as `ctr content fetch`); manifests
   * of other platforms are skipped. Ignored with `allPlatforms`.
   */
  readonly platforms?: readonly PlatformSpec[];
  /** Fetch every platform of an index. */
  readonly allPlatforms?: boolean;
  /** Labels of the image record. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Called on every change of a blob's transfer. */
  readonly onProgress?: ProgressFn;
  /** Blobs downloaded at once (default 3, as containerd). */
  readonly maxConcurrentDownloads?: number;
  /** Retries of a blob download that stops making progress (a cut stream) before giving up (default 5). */
  readonly retries?: number;
}

/** Limits and hooks of one walk. */
export interface WalkOptions {
  readonly matcher: PlatformMatchComparer;
  /** Manifests kept per index, best first (0: all that match). */
  readonly limit: number;
  readonly onProgress?: ProgressFn;
  readonly maxConcurrentDownloads: number;
  readonly retries: number;
  /** Called for each manifest reached, once its children are known (the pull unpacker starts here). */
  readonly onManifest?: (desc: Descriptor, manifest: ImageManifest) => void;
}

/** The registry client for `ref` with the caller's remote options. */
export function registryFor(ref: Reference, options: RemoteOptions): Registry {
  return new Registry(ref, {
    ...options.registry,
    ...(options.plainHttp !== undefined ? { plainHttp: options.plainHttp } : {}),
    ...(options.auth !== undefined ? { credentials: options.auth } : {}),
  });
}

/** The host part of a distribution-source label key: the registry host without port or brackets. */
export function sourceHostname(host: string): string {
  let h = host;
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.lastIndexOf(":");
  if (colon >= 0 && h.indexOf(":") === colon) h = h.slice(0, colon);
  return h;
}

/** The label key recording the repositories of `host` a blob came from. */
export function distributionSourceKey(host: string): string {
  return `${labelDistributionSourcePrefix}${sourceHostname(host)}`;
}

/**
 * Adds `repo` to a comma-separated distribution-source label value: sorted, without duplicates
 * (containerd's `appendDistributionSourceLabel`).
 */
export function appendSource(value: string | undefined, repo: string): string {
  const repos = new Set((value ?? "").split(",").filter((r) => r !== ""));
  repos.add(repo);
  return [...repos].sort().join(",");
}

/** Thrown inside {@link ImageFetcher} when a commit refused the bytes (size or digest). */
class CommitRefused extends Error {
  constructor(readonly error: unknown) {
    super("commit refused", { cause: error });
  }
}

/**
 * One walk of an image's tree from a registry into the content service. Every blob is fetched once per
 * walk even when it appears several times; {@link ImageFetcher.blob} lets a concurrent unpacker wait for
 * a layer.
 */
export class ImageFetcher {
  readonly #svc: ImageServices;
  readonly #registry: Registry;
  readonly #opts: WalkOptions;
  readonly #group: TaskGroup;
  readonly #ctx: Context;
  readonly #limiter: Semaphore;
  readonly #blobs = new Map<Digest, Deferred<void>>();
  readonly #visited = new Set<Digest>();
  readonly #sourceKey: string;

  constructor(svc: ImageServices, ctx: Context, registry: Registry, options: WalkOptions) {
    this.#svc = svc;
    this.#registry = registry;
    this.#opts = options;
    this.#group = new TaskGroup(ctx.signal);
    this.#ctx = { ...ctx, signal: this.#group.signal };
    this.#limiter = new Semaphore(options.maxConcurrentDownloads);
    this.#sourceKey = distributionSourceKey(registry.ref.host);
  }

  /** The walk's context: cancelled when the caller cancels or any part of the walk fails. */
  get context(): Context {
    return this.#ctx;
  }

  /** Runs `fn` as part of the walk: its failure fails the walk, and the walk waits for it. */
  spawn(fn: () => Promise<void>): void {
    this.#group.spawn(fn);
  }

  /** Resolves when the blob `digest` is in the content store (rejects when its fetch failed). */
  blob(digest: Digest): Promise<void> {
    return this.#deferred(digest).promise;
  }

  #deferred(digest: Digest): Deferred<void> {
    let d = this.#blobs.get(digest);
    if (d === undefined) {
      d = new Deferred<void>();
      this.#blobs.set(digest, d);
    }
    return d;
  }

  /** Walks the tree under `target`, fetching what the platform filter keeps; waits for spawned tasks too. */
  async run(target: Descriptor): Promise<void> {
    this.#dispatch([target]);
    try {
      await this.#group.wait();
    } finally {
      const err = new UnavailableError("fetch stopped before this blob was fetched", { bare: true });
      for (const d of this.#blobs.values()) if (!d.settled) d.reject(err);
    }
  }

  #dispatch(descs: readonly Descriptor[]): void {
    for (const desc of descs) {
      this.#group.spawn(async () => {
        const children = await this.#visit(desc);
        if (children.length > 0) this.#dispatch(children);
      });
    }
  }

  async #visit(desc: Descriptor): Promise<readonly Descriptor[]> {
    const ctx = this.#ctx;
    if (this.#visited.has(desc.digest)) {
      await this.blob(desc.digest);
      return [];
    }
    this.#visited.add(desc.digest);
    const done = this.#deferred(desc.digest);
    let bytes: Uint8Array | undefined;
    try {
      report(this.#opts.onProgress, { ref: refKey(desc), status: "waiting", offset: 0, total: desc.size, descriptor: desc });
      bytes = await this.#limiter.run(() => this.#fetchBlob(desc), ctx.signal);
      done.resolve();
    } catch (err) {
      done.reject(err);
      throw err;
    }
    if (bytes === undefined) return [];
    const all = childrenOf(desc, bytes);
    if (all.length > 0) {
      // Labels for every child, before filtering, as containerd's fetch handler chain does.
      const labels = childrenGcLabels(all);
      const keys = Object.keys(labels);
      if (keys.length > 0) {
        await this.#svc.content.update(ctx, { digest: desc.digest, labels }, keys.map((k) => `labels.${k}`));
      }
    }
    const keep = limitManifests(filterPlatforms(async () => all, this.#opts.matcher), this.#opts.matcher, this.#opts.limit);
    const children = await keep(ctx, desc);
    if (isManifestType(desc.mediaType) && this.#opts.onManifest !== undefined) {
      this.#opts.onManifest(desc, parseManifest(bytes, desc.mediaType, `manifest ${desc.digest}`));
    }
    return children;
  }

  /**
   * Brings one blob into the content store. Returns the bytes of indexes and manifests (their children
   * are read from them), nothing for other blobs.
   */
  async #fetchBlob(desc: Descriptor): Promise<Uint8Array | undefined> {
    const ctx = this.#ctx;
    const content = this.#svc.content;
    const ref = refKey(desc);
    const document = isManifestType(desc.mediaType) || isIndexType(desc.mediaType);
    if (document && desc.size > maxManifestSize) {
      throw new FailedPreconditionError(`manifest ${desc.digest}: ${desc.size} bytes exceed the ${maxManifestSize}-byte limit`);
    }
    const repo = this.#registry.ref.repository;
    for (let attempt = 0; ; attempt++) {
      let w: ContentWriter;
      try {
        w = await openWriter(content, ctx, { ref, total: desc.size, expected: desc.digest });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        await this.#addSource(desc.digest, repo);
        report(this.#opts.onProgress, { ref, status: "exists", offset: desc.size, total: desc.size, descriptor: desc });
        return document ? readBlob(content, ctx, desc.digest) : undefined;
      }
      const resumedAt = w.offset;
      const captured: Uint8Array[] | undefined = document ? [] : undefined;
      try {
        // Documents are kept in memory, so a partial one is fetched again whole.
        if (w.offset > desc.size || (document && w.offset > 0 && w.offset < desc.size)) await w.truncate(0);
        if (w.offset < desc.size) await this.#download(desc, ref, w, captured);
        try {
          await w.commit(desc.size, desc.digest, { labels: { [this.#sourceKey]: repo } });
        } catch (err) {
          if (isAlreadyExists(err)) await this.#addSource(desc.digest, repo);
          else if (isFailedPrecondition(err)) throw new CommitRefused(err);
          else throw err;
        }
        report(this.#opts.onProgress, { ref, status: "done", offset: desc.size, total: desc.size, descriptor: desc });
        if (!document) return undefined;
        const bytes = captured !== undefined ? Buffer.concat(captured) : undefined;
        return bytes !== undefined && bytes.byteLength === desc.size ? bytes : readBlob(content, ctx, desc.digest);
      } catch (err) {
        await w.close().catch(() => undefined);
        const refused = err instanceof CommitRefused ? err.error : isFailedPrecondition(err) ? err : undefined;
        if (refused === undefined) throw err;
        // The bytes are not the blob: drop the ingest so nothing of it stays. A resumed ingest may
        // have held the bad part, so one more attempt starts from scratch.
        await content.abort(ctx, ref).catch(() => undefined);
        if (resumedAt > 0 && attempt === 0) continue;
        throw withContext(refused, `failed commit on ref "${ref}"`);
      }
    }
  }

  /** Downloads the rest of `desc` into `w`, retrying a cut stream from the writer's offset. */
  async #download(desc: Descriptor, ref: string, w: ContentWriter, captured: Uint8Array[] | undefined): Promise<void> {
    const signal = this.#ctx.signal;
    let stalls = 0;
    let delay = 100;
    while (w.offset < desc.size) {
      const from = w.offset;
      report(this.#opts.onProgress, { ref, status: "downloading", offset: from, total: desc.size, descriptor: desc });
      try {
        const body = await this.#registry.fetch(desc, { offset: from, signal });
        await pump(body, w, {
          limit: desc.size,
          what: `${desc.digest} from ${this.#registry.name}`,
          onWritten: (offset) => report(this.#opts.onProgress, { ref, status: "downloading", offset, total: desc.size, descriptor: desc }),
          ...(captured !== undefined ? { tap: (c: Uint8Array) => captured.push(c) } : {}),
        });
        if (w.offset < desc.size) throw new SourceError(new Error(`body ended at ${w.offset} of ${desc.size} bytes`));
      } catch (err) {
        if (signal.aborted) throw abortError(signal);
        const retryable = err instanceof SourceError || (isUnavailable(err) && w.offset === from);
        if (!retryable) throw err;
        stalls = w.offset > from ? 0 : stalls + 1;
        if (stalls > this.#opts.retries) {
          throw new UnavailableError(`fetching ${desc.digest} from ${this.#registry.name}: ${(err as Error).message}`, { cause: err, bare: true });
        }
        await sleep(delay, signal);
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  /** Appends the repository to the blob's distribution-source label (when it is not there yet). */
  async #addSource(digest: Digest, repo: string): Promise<void> {
    const ctx = this.#ctx;
    const info = await this.#svc.content.info(ctx, digest);
    const current = info.labels[this.#sourceKey];
    const value = appendSource(current, repo);
    if (value === current) return;
    try {
      validateLabel(this.#sourceKey, value);
    } catch {
      return; // too many repositories for one label: upstream skips it too
    }
    await this.#svc.content.update(ctx, { digest, labels: { [this.#sourceKey]: value } }, [`labels.${this.#sourceKey}`]);
  }
}

/** The children of an index or manifest read from its bytes (nothing for other blobs). */
function childrenOf(desc: Descriptor, bytes: Uint8Array): readonly Descriptor[] {
  if (isManifestType(desc.mediaType)) {
    const m = parseManifest(bytes, desc.mediaType, `manifest ${desc.digest}`);
    return [m.config, ...m.layers];
  }
  if (isIndexType(desc.mediaType)) return parseIndex(bytes, desc.mediaType, `index ${desc.digest}`).manifests;
  return [];
}

/**
 * Resolves `ref` at its registry.
 * @throws NotFoundError `failed to resolve reference "<ref>": …` when the registry does not know it.
 * @throws NotImplementedError for a Docker schema 1 manifest.
 */
export async function resolveReference(registry: Registry, ref: string, signal: AbortSignal): Promise<Descriptor> {
  let d;
  try {
    d = await registry.resolve(signal);
  } catch (err) {
    throw withContext(err, `failed to resolve reference "${ref}"`);
  }
  if (d.mediaType === MediaType.DockerSchema1Manifest) {
    // containerd converts these on the fly; the image model here does not read schema 1.
    throw new NotImplementedError(`${ref}: Docker schema 1 manifests (${d.mediaType}) are not supported`);
  }
  return { mediaType: d.mediaType, digest: d.digest as Digest, size: d.size };
}

/**
 * Creates the image record, or updates it (target and labels) when the name exists (containerd's
 * `createNewImage`).
 */
export async function createOrUpdateImage(
  svc: Pick<ImageServices, "images">,
  ctx: Context,
  image: { readonly name: string; readonly target: Descriptor; readonly labels?: Readonly<Record<string, string>> },
): Promise<Image> {
  for (;;) {
    try {
      return await svc.images.create(ctx, image);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    try {
      return await svc.images.update(ctx, { labels: {}, ...image });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** The walk options of a fetch or pull, with containerd's defaults. */
export function walkOptions(options: FetchOptions, limit: number, matcher?: PlatformMatchComparer): WalkOptions {
  return {
    matcher: matcher ?? (options.allPlatforms === true ? anyPlatform : orderedMatcher(options.platforms ?? [])),
    limit: options.allPlatforms === true ? 0 : limit,
    maxConcurrentDownloads: options.maxConcurrentDownloads ?? 3,
    retries: options.retries ?? 5,
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  };
}

/**
 * Fetches an image into the content store without unpacking it, and records it under `ref` as given
 * (containerd's `Client.Fetch`, behind `ctr content fetch`): every manifest for the requested platforms
 * (the host's by default) with its config and layers, or everything with `allPlatforms`. Runs under a
 * temporary lease (or the context's).
 *
 * @throws NotFoundError `failed to resolve reference "<ref>": …` for an unknown reference.
 * @throws FailedPreconditionError for a manifest over 4 MiB, and `failed commit on ref "<ref>": unexpected
 *   commit digest …` when the registry served bytes that do not match the digest (nothing is committed).
 * @throws InvalidArgumentError for a malformed reference or a malformed manifest or index.
 * @throws UnavailableError when the registry cannot be reached or keeps cutting a download.
 */
export async function fetchImage(svc: ImageServices, ctx: Context, ref: string, options: FetchOptions = {}): Promise<Image> {
  const registry = registryFor(parseReference(ref), options);
  return withLease(svc, ctx, async (ctx) => {
    report(options.onProgress, { ref, status: "resolving", offset: 0, total: 0 });
    const target = await resolveReference(registry, ref, ctx.signal);
    report(options.onProgress, { ref, status: "resolved", offset: 0, total: 0, descriptor: target });
    await new ImageFetcher(svc, ctx, registry, walkOptions(options, 0)).run(target);
    return createOrUpdateImage(svc, ctx, { name: ref, target, ...(options.labels !== undefined ? { labels: options.labels } : {}) });
  });
}
