/**
 * Container filters (containerd's `adaptContainer` in `metadata/adaptors.go`): `id`, `image`,
 * `runtime.name` and `labels.<key>`; an empty value counts as absent.
 */
import { type Adaptor, type Filter, adaptFields, parseFilters } from "@containerts/namespaces";
import type { Container } from "./container.js";

/** The filter adaptor of a container: `id`, `image`, `runtime.name`, `labels.<key>`. */
export function adaptContainer(c: Pick<Container, "id" | "image" | "runtime" | "labels">): Adaptor {
  return adaptFields(
    { id: c.id || undefined, image: c.image || undefined, "runtime.name": c.runtime.name || undefined },
    { labels: c.labels },
  );
}

/**
 * Parses the filters of a List call: matches a container when any filter matches (none or `""`: all).
 * @throws InvalidArgumentError `filters: parse error: …` for a filter that does not parse.
 */
export function parseContainerFilters(filters: readonly string[] = []): Filter {
  return parseFilters(filters);
}
