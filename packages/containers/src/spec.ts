/**
 * The OCI runtime spec in a container: an Any of type `types.containerd.io/opencontainers/runtime-spec/1/Spec`
 * whose value is the spec's JSON.
 */
import { InvalidArgumentError, NotFoundError } from "@containerts/errdefs";
import { type AnyValue, type Container, SPEC_TYPE_URL } from "./container.js";

/**
 * Reads a container's OCI runtime spec: parses the JSON of its spec Any. The result is the parsed JSON
 * (typed by the caller; nothing is checked against the OCI schema).
 *
 * @throws NotFoundError `spec of container "<id>": not found` when the container has no spec.
 * @throws InvalidArgumentError when the Any's type URL is not {@link SPEC_TYPE_URL}, or its value is not
 *   a JSON object.
 */
export function readSpec<T = Record<string, unknown>>(container: Pick<Container, "id" | "spec">): T {
  const spec = container.spec;
  if (spec === undefined) throw new NotFoundError(`spec of container ${JSON.stringify(container.id)}`);
  if (spec.typeUrl !== SPEC_TYPE_URL) {
    throw new InvalidArgumentError(`spec of container ${JSON.stringify(container.id)} has type ${JSON.stringify(spec.typeUrl)}, not ${SPEC_TYPE_URL}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(spec.value));
  } catch (err) {
    throw new InvalidArgumentError(`spec of container ${JSON.stringify(container.id)} is not valid JSON`, { cause: err });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`spec of container ${JSON.stringify(container.id)} is not a JSON object`);
  }
  return parsed as T;
}

/** Encodes an OCI runtime spec (any JSON-serializable object) as the Any a container stores. */
export function specAny(spec: object): AnyValue {
  return { typeUrl: SPEC_TYPE_URL, value: new TextEncoder().encode(JSON.stringify(spec)) };
}
