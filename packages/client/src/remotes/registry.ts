/**
 * An OCI distribution (Docker registry v2) client for one repository: resolve a tag or digest, fetch
 * manifests and blobs (with ranged resume), check existence, upload blobs (monolithic or chunked, with
 * cross-repository mount) and push manifests. Authentication answers the registry's challenges: basic,
 * or bearer tokens from the realm (anonymous or with credentials). Transient failures (network errors,
 * 429, 5xx) are retried with backoff.
 */
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  UnknownError,
} from "@containerts/errdefs";
import { type Credentials, basicAuth, fetchToken, parseChallenges } from "./auth.js";
import { type Reference, formatReference, isLocalhost, registryHost } from "./reference.js";

/** A content descriptor as registries and OCI manifests use it. */
export interface RemoteDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Options of a {@link Registry}. */
export interface RegistryOptions {
  /** Talk plain HTTP (default: only for localhost/127.0.0.1, like containerd). */
  readonly plainHttp?: boolean;
  readonly credentials?: Credentials;
  /** The fetch implementation (default: the global one). */
  readonly fetch?: typeof fetch;
  /** Retries of a transient failure (default 3). */
  readonly retries?: number;
  /** Base delay between retries in ms (default 200, doubled each time). */
  readonly retryDelayMs?: number;
}

/** The manifest media types we accept, in containerd's order. */
export const manifestAcceptHeader = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "*/*",
].join(", ");

const manifestTypes = new Set([
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
]);

/** True for the media types fetched from `/manifests/` rather than `/blobs/`. */
export function isManifestType(mediaType: string): boolean {
  return manifestTypes.has(mediaType);
}

/** Largest manifest accepted (containerd's limit). */
export const MAX_MANIFEST_SIZE = 4 << 20;

type Action = "pull" | "push";

/** A registry client bound to one repository of one host. */
export class Registry {
  readonly ref: Reference;
  readonly #base: string;
  readonly #opts: RegistryOptions;
  readonly #fetch: typeof fetch;
  /** Authorization header per scope set ("pull", "pull,push"). */
  readonly #auth = new Map<string, string>();

  constructor(ref: Reference, opts: RegistryOptions = {}) {
    this.ref = ref;
    this.#opts = opts;
    this.#fetch = opts.fetch ?? fetch;
    const plain = opts.plainHttp ?? isLocalhost(ref.host);
    this.#base = `${plain ? "http" : "https"}://${registryHost(ref.host)}/v2/${ref.repository}`;
  }

  /** The canonical name of the reference. */
  get name(): string {
    return formatReference(this.ref);
  }

  #scope(action: Action, repository = this.ref.repository): string {
    return `repository:${repository}:${action === "push" ? "pull,push" : "pull"}`;
  }

  async #authorize(res: Response, action: Action, extraScopes: readonly string[], signal?: AbortSignal): Promise<boolean> {
    const header = res.headers.get("www-authenticate");
    if (!header) return false;
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === "bearer");
    if (bearer) {
      const token = await fetchToken(bearer, [this.#scope(action), ...extraScopes], this.#opts.credentials, this.#fetch, signal);
      this.#auth.set(action, `Bearer ${token}`);
      return true;
    }
    if (challenges.some((c) => c.scheme === "basic")) {
      if (!this.#opts.credentials) return false;
      const value = basicAuth(this.#opts.credentials);
      if (this.#auth.get(action) === value) return false;
      this.#auth.set(action, value);
      return true;
    }
    return false;
  }

  /**
   * Sends a request with authorization and retries. `path` is relative to `/v2/<repo>` or an absolute URL
   * (upload locations).
   */
  async #request(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: () => RequestInit["body"] | undefined; action?: Action; extraScopes?: readonly string[]; signal?: AbortSignal; idempotent?: boolean },
  ): Promise<Response> {
    const action = init.action ?? "pull";
    const url = /^https?:\/\//.test(path) ? path : `${this.#base}${path}`;
    const retries = this.#opts.retries ?? 3;
    let delay = this.#opts.retryDelayMs ?? 200;
    let authRetried = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...init.headers };
      const auth = this.#auth.get(action);
      if (auth) headers["authorization"] = auth;
      let res: Response;
      try {
        const body = init.body?.();
        res = await this.#fetch(url, {
          method,
          headers,
          ...(body !== undefined ? { body, duplex: "half" } : {}),
          ...(init.signal ? { signal: init.signal } : {}),
          redirect: "follow",
        } as RequestInit);
      } catch (err) {
        if (init.signal?.aborted) throw err;
        if (attempt < retries && init.idempotent !== false) {
          await sleep(delay, init.signal);
          delay *= 2;
          continue;
        }
        throw new UnavailableError(`${method} ${url}: ${(err as Error).message}`, { cause: err, bare: true });
      }
      if (res.status === 401 && !authRetried) {
        authRetried = true;
        if (await this.#authorize(res, action, init.extraScopes ?? [], init.signal)) {
          await res.body?.cancel();
          continue;
        }
      }
      if ((res.status === 429 || res.status >= 500) && attempt < retries && init.idempotent !== false) {
        await res.body?.cancel();
        await sleep(delay, init.signal);
        delay *= 2;
        continue;
      }
      return res;
    }
  }

  async #fail(res: Response, what: string): Promise<never> {
    let detail = "";
    try {
      const body = (await res.json()) as { errors?: { code?: string; message?: string }[] };
      detail = (body.errors ?? []).map((e) => `${e.code ?? ""}: ${e.message ?? ""}`).join("; ");
    } catch {
      // not a registry error body
    }
    const msg = `${what}: ${res.status} ${res.statusText}${detail ? ` (${detail})` : ""}`;
    if (res.status === 404) throw new NotFoundError(msg, { bare: true });
    if (res.status === 401) throw new UnauthenticatedError(msg, { bare: true });
    if (res.status === 403) throw new PermissionDeniedError(msg, { bare: true });
    if (res.status === 429 || res.status >= 500) throw new UnavailableError(msg, { bare: true });
    throw new UnknownError(msg, { bare: true });
  }

  /**
   * Resolves the reference's tag or digest to the descriptor of its manifest or index.
   * @throws NotFoundError naming the reference when the registry does not know it.
   */
  async resolve(signal?: AbortSignal): Promise<RemoteDescriptor> {
    const target = this.ref.digest ?? this.ref.tag ?? "latest";
    const head = await this.#request("HEAD", `/manifests/${target}`, { headers: { accept: manifestAcceptHeader }, ...(signal ? { signal } : {}) });
    if (head.status === 404) throw new NotFoundError(`${this.name}`);
    let mediaType = head.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
    let digest = head.headers.get("docker-content-digest") ?? this.ref.digest ?? "";
    let size = Number(head.headers.get("content-length") ?? "NaN");
    if (!head.ok || !mediaType || !digest || !Number.isFinite(size) || !isManifestType(mediaType)) {
      const res = await this.#request("GET", `/manifests/${target}`, { headers: { accept: manifestAcceptHeader }, ...(signal ? { signal } : {}) });
      if (res.status === 404) throw new NotFoundError(`${this.name}`);
      if (!res.ok) await this.#fail(res, `resolving ${this.name}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length > MAX_MANIFEST_SIZE) throw new InvalidArgumentError(`manifest of ${this.name} is ${bytes.length} bytes, more than the ${MAX_MANIFEST_SIZE} allowed`);
      mediaType = res.headers.get("content-type")?.split(";")[0]?.trim() || mediaTypeOf(bytes);
      const { createHash } = await import("node:crypto");
      digest = res.headers.get("docker-content-digest") ?? `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      size = bytes.length;
    }
    if (!isManifestType(mediaType)) throw new FailedPreconditionError(`${this.name}: unexpected manifest media type ${mediaType}`, { bare: true });
    if (this.ref.digest && digest !== this.ref.digest) {
      throw new FailedPreconditionError(`${this.name}: registry returned digest ${digest}`, { bare: true });
    }
    return { mediaType, digest, size };
  }

  /**
   * Fetches a manifest or blob from `offset` (a ranged request; when the registry ignores the range the
   * leading bytes are skipped). Yields the body in chunks.
   */
  async fetch(desc: RemoteDescriptor, options: { offset?: number; signal?: AbortSignal } = {}): Promise<AsyncIterable<Uint8Array>> {
    const offset = options.offset ?? 0;
    const manifest = isManifestType(desc.mediaType);
    if (manifest && desc.size > MAX_MANIFEST_SIZE) {
      throw new InvalidArgumentError(`manifest ${desc.digest} is ${desc.size} bytes, more than the ${MAX_MANIFEST_SIZE} allowed`);
    }
    const headers: Record<string, string> = manifest ? { accept: `${desc.mediaType}, */*` } : {};
    if (offset > 0) headers["range"] = `bytes=${offset}-`;
    const res = await this.#request("GET", `/${manifest ? "manifests" : "blobs"}/${desc.digest}`, { headers, ...(options.signal ? { signal: options.signal } : {}) });
    if (res.status === 404) throw new NotFoundError(`${desc.digest} in ${this.name}`);
    if (!res.ok || !res.body) await this.#fail(res, `fetching ${desc.digest} from ${this.name}`);
    const skip = offset > 0 && res.status !== 206 ? offset : 0;
    return skipBytes(res.body as unknown as AsyncIterable<Uint8Array>, skip);
  }

  /** True when the registry has the blob (or manifest, by digest). */
  async exists(desc: RemoteDescriptor, signal?: AbortSignal): Promise<boolean> {
    const manifest = isManifestType(desc.mediaType);
    const res = await this.#request("HEAD", `/${manifest ? "manifests" : "blobs"}/${desc.digest}`, {
      action: "push",
      ...(manifest ? { headers: { accept: manifestAcceptHeader } } : {}),
      ...(signal ? { signal } : {}),
    });
    await res.body?.cancel();
    if (res.ok) return true;
    if (res.status === 404) return false;
    return this.#fail(res, `checking ${desc.digest} in ${this.name}`);
  }

  /**
   * Uploads a blob unless the registry has it. With `mountFrom` (another repository of the same host), a
   * cross-repository mount is tried first. `chunkSize` > 0 uploads in PATCH chunks; otherwise one PUT.
   * @returns how the blob got there.
   */
  async pushBlob(
    desc: RemoteDescriptor,
    source: () => AsyncIterable<Uint8Array>,
    options: { mountFrom?: string; chunkSize?: number; signal?: AbortSignal } = {},
  ): Promise<"exists" | "mounted" | "uploaded"> {
    const signal = options.signal;
    if (await this.exists(desc, signal)) return "exists";
    let query = "";
    const extraScopes: string[] = [];
    if (options.mountFrom && options.mountFrom !== this.ref.repository) {
      query = `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(options.mountFrom)}`;
      extraScopes.push(`repository:${options.mountFrom}:pull`);
    }
    const start = await this.#request("POST", `/blobs/uploads/${query}`, { action: "push", extraScopes, ...(signal ? { signal } : {}) });
    await start.body?.cancel();
    if (start.status === 201) return "mounted";
    if (start.status !== 202) await this.#fail(start, `starting upload of ${desc.digest} to ${this.name}`);
    let location = this.#absolute(start.headers.get("location"));
    const chunkSize = options.chunkSize ?? 0;
    if (chunkSize > 0) {
      let offset = 0;
      for await (const chunk of rechunk(source(), chunkSize)) {
        const res = await this.#request("PATCH", location, {
          action: "push",
          idempotent: false,
          headers: { "content-type": "application/octet-stream", "content-range": `${offset}-${offset + chunk.length - 1}`, "content-length": String(chunk.length) },
          body: () => chunk,
          ...(signal ? { signal } : {}),
        });
        await res.body?.cancel();
        if (res.status !== 202) await this.#fail(res, `uploading ${desc.digest} to ${this.name}`);
        location = this.#absolute(res.headers.get("location"));
        offset += chunk.length;
      }
      const done = await this.#request("PUT", withQuery(location, "digest", desc.digest), { action: "push", idempotent: false, ...(signal ? { signal } : {}) });
      await done.body?.cancel();
      if (done.status !== 201) await this.#fail(done, `finishing upload of ${desc.digest} to ${this.name}`);
      return "uploaded";
    }
    const res = await this.#request("PUT", withQuery(location, "digest", desc.digest), {
      action: "push",
      idempotent: false,
      headers: { "content-type": "application/octet-stream", "content-length": String(desc.size) },
      body: () => toStream(source()),
      ...(signal ? { signal } : {}),
    });
    await res.body?.cancel();
    if (res.status !== 201) await this.#fail(res, `uploading ${desc.digest} to ${this.name}`);
    return "uploaded";
  }

  /** Pushes a manifest or index under `tagOrDigest`. */
  async pushManifest(tagOrDigest: string, desc: RemoteDescriptor, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    const res = await this.#request("PUT", `/manifests/${tagOrDigest}`, {
      action: "push",
      headers: { "content-type": desc.mediaType },
      body: () => bytes,
      ...(signal ? { signal } : {}),
    });
    await res.body?.cancel();
    if (res.status !== 201 && res.status !== 200) await this.#fail(res, `pushing manifest ${desc.digest} to ${this.name}`);
  }

  #absolute(location: string | null): string {
    if (!location) throw new UnknownError(`registry ${this.ref.host} gave no upload location`, { bare: true });
    return new URL(location, this.#base).toString();
  }
}

function withQuery(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(key, value);
  return u.toString();
}

function mediaTypeOf(bytes: Uint8Array): string {
  try {
    const j = JSON.parse(Buffer.from(bytes).toString("utf8")) as { mediaType?: string; manifests?: unknown; layers?: unknown };
    if (j.mediaType) return j.mediaType;
    return j.manifests ? "application/vnd.oci.image.index.v1+json" : "application/vnd.oci.image.manifest.v1+json";
  } catch {
    return "";
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}

async function* skipBytes(src: AsyncIterable<Uint8Array>, n: number): AsyncGenerator<Uint8Array> {
  let left = n;
  for await (const chunk of src) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}

async function* rechunk(src: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buf: Uint8Array[] = [];
  let len = 0;
  for await (const chunk of src) {
    buf.push(chunk);
    len += chunk.length;
    while (len >= size) {
      const all = Buffer.concat(buf);
      yield all.subarray(0, size);
      const rest = all.subarray(size);
      buf = rest.length ? [rest] : [];
      len = rest.length;
    }
  }
  if (len > 0) yield Buffer.concat(buf);
}

function toStream(src: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = src[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await it.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}
