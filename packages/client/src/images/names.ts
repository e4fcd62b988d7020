/**
 * Image names in archives (containerd's `images/archive/reference.go` and `import.go`): how an importer
 * turns an index entry's annotations into an image name, and how an exporter writes names back.
 */
import { withContext } from "@containerts/errdefs";

import { formatReference, parseReference } from "../remotes/reference.js";

/** Annotation holding an image's full name (containerd's). */
export const annotationImageName = "io.containerd.image.name";
/** OCI annotation holding the reference name (usually only the tag). */
export const annotationRefName = "org.opencontainers.image.ref.name";

/**
 * A Docker reference in its normalized form (containerd's `normalizeReference`, `ParseDockerRef`):
 * `busybox` → `docker.io/library/busybox:latest`; with a digest, the tag is dropped.
 * @throws InvalidArgumentError `normalize image ref "<ref>": …`.
 */
export function normalizeReference(ref: string): string {
  try {
    const r = parseReference(ref);
    if (r.digest !== undefined) return formatReference({ host: r.host, repository: r.repository, digest: r.digest });
    return formatReference(r);
  } catch (err) {
    throw withContext(err, `normalize image ref ${JSON.stringify(ref)}`);
  }
}

/**
 * The short form Docker shows (containerd's `familiarizeReference`): the tag added when there is none,
 * `docker.io/library/` and `docker.io/` dropped (`docker.io/library/busybox:latest` → `busybox:latest`).
 * @throws InvalidArgumentError `failed to parse "<ref>": …`.
 */
export function familiarizeReference(ref: string): string {
  let r;
  try {
    r = parseReference(ref);
  } catch (err) {
    throw withContext(err, `failed to parse ${JSON.stringify(ref)}`);
  }
  let name = `${r.host}/${r.repository}`;
  if (r.host === "docker.io") name = r.repository.startsWith("library/") && r.repository.split("/").length === 2 ? r.repository.slice(8) : r.repository;
  return `${name}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
}

/**
 * The OCI reference name of a full name (containerd's `ociReferenceName`): what follows the repository —
 * the tag, `tag@digest` or `@digest` — or "" when there is none; a name that does not parse as
 * `host[/path]` is returned whole.
 */
export function ociReferenceName(name: string): string {
  const slash = name.indexOf("/");
  if (slash < 0) {
    // All of it is the locator's host: no object (`foo`, `foo:5000`), unless it does not parse as a host
    // (`busybox:latest`, `a@b`), then the name itself, as upstream's URL parsing decides.
    const colon = name.lastIndexOf(":");
    const port = colon >= 0 ? name.slice(colon + 1) : "";
    return name.includes("@") || (colon >= 0 && !/^\d*$/.test(port)) ? name : "";
  }
  const path = name.slice(slash);
  const i = path.search(/[:@]/);
  if (i < 0) return "";
  const object = path.slice(i);
  return object.startsWith(":") ? object.slice(1) : object;
}

/**
 * The name translator of `ctr images import` (containerd's `refTranslator`): a name with `/`, `:` or
 * `@` is a full reference and is kept (with `filter`, only when it starts with `prefix` followed by
 * `/`, `:` or `@` or nothing; otherwise it is dropped: ""), a bare tag becomes `<prefix>:<tag>`.
 */
export function refTranslator(prefix: string, filter: boolean): (ref: string) => string {
  return (ref) => {
    if (/[/:@]/.test(ref)) {
      if (filter && !isImagePrefix(ref, prefix)) return "";
      return ref;
    }
    return `${prefix}:${ref}`;
  };
}

function isImagePrefix(s: string, prefix: string): boolean {
  if (!s.startsWith(prefix)) return false;
  if (s.length === prefix.length) return true;
  const c = s[prefix.length];
  return c === "/" || c === ":" || c === "@";
}

/**
 * The image name of an index entry (containerd's `imageName`): `io.containerd.image.name` as is, else
 * `org.opencontainers.image.ref.name` through `translate`; "" when there is none.
 */
export function imageNameOf(annotations: Readonly<Record<string, string>> | undefined, translate?: (ref: string) => string): string {
  const full = annotations?.[annotationImageName];
  if (full !== undefined && full !== "") return full;
  const ref = annotations?.[annotationRefName];
  if (ref === undefined || ref === "") return "";
  return translate !== undefined ? translate(ref) : ref;
}

/** The default import prefix of `ctr images import`: `import-<yyyy-mm-dd>` (local date). */
export function defaultImportPrefix(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `import-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}
