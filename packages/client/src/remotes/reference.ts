/**
 * Image references in the Docker/OCI distribution form: `[host[:port]/]path[:tag][@digest]`, normalized
 * like the Docker CLI and containerd's `reference/docker` (`busybox` → `docker.io/library/busybox:latest`).
 */
import { InvalidArgumentError } from "@containerts/errdefs";

/** A parsed reference. */
export interface Reference {
  /** Registry host, with port when given (`docker.io`, `localhost:5000`). */
  readonly host: string;
  /** Repository path (`library/busybox`). */
  readonly repository: string;
  /** Tag, when given (`latest` is added only when neither tag nor digest is given). */
  readonly tag?: string;
  /** Digest, when given. */
  readonly digest?: string;
}

const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const digestPattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/** Parses and normalizes a reference; throws InvalidArgumentError for a malformed one. */
export function parseReference(ref: string): Reference {
  if (ref === "" || ref.length > 4096) throw new InvalidArgumentError(`invalid reference "${ref}"`);
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) throw new InvalidArgumentError(`invalid reference "${ref}": invalid digest`);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!tagPattern.test(tag)) throw new InvalidArgumentError(`invalid reference "${ref}": invalid tag`);
  }
  let host = "docker.io";
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase()) {
      host = first;
      path = rest.slice(slash + 1);
    }
  }
  if (host === "index.docker.io") host = "docker.io";
  if (host === "docker.io" && !path.includes("/")) path = `library/${path}`;
  if (path === "" || !path.split("/").every((c) => pathComponent.test(c))) {
    throw new InvalidArgumentError(`invalid reference "${ref}": repository name must be lowercase`);
  }
  if (tag === undefined && digest === undefined) tag = "latest";
  return { host, repository: path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The canonical string of a reference (`docker.io/library/busybox:latest`). */
export function formatReference(r: Reference): string {
  return `${r.host}/${r.repository}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
}

/** The host to talk HTTP to (`docker.io` is served by `registry-1.docker.io`). */
export function registryHost(host: string): string {
  return host === "docker.io" ? "registry-1.docker.io" : host;
}

/** True for hosts containerd talks plain HTTP to by default (loopback). */
export function isLocalhost(host: string): boolean {
  const h = host.replace(/:\d+$/, "");
  return h === "localhost" || h === "127.0.0.1" || h === "::1" || h === "[::1]";
}
