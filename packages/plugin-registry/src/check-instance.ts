import { InvalidArgumentError } from "@containerts/errdefs";

/**
 * Checks that a plugin instance has the methods a consumer needs and returns it typed as `T`: the one
 * checked cast of the registry (instead of an unchecked cast at every use).
 *
 * ```ts
 * const source = checkInstance<ContentStoreSource>(ic.getSingle(PluginType.Metadata), ["contentStore"],
 *   "metadata plugin");
 * ```
 *
 * @param methods - the names of the functions `value` must have (checked on the object and its prototypes).
 * @param what - names the value in the error, such as `"io.containerd.metadata.v1 plugin"`.
 * @throws InvalidArgumentError when `value` is not an object or lacks one of the methods; the message
 *   names `what` and every missing method.
 */
export function checkInstance<T>(value: unknown, methods: readonly (keyof T & string)[], what: string): T {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) {
    const got = value === null ? "null" : typeof value;
    throw new InvalidArgumentError(`${what}: expected an object with methods ${methods.join(", ")}, got ${got}`);
  }
  const record = value as Record<string, unknown>;
  const missing = methods.filter((m) => typeof record[m] !== "function");
  if (missing.length > 0) {
    throw new InvalidArgumentError(`${what}: missing method${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`);
  }
  return value as T;
}
