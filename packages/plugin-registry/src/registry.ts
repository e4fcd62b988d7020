import { InvalidArgumentError } from "@containerts/errdefs";
import { type AnyRegistration, uri } from "./registration.js";

/**
 * Selects the registrations to leave out of a graph: a predicate, or a list of plugin URIs
 * (the config file's `disabled_plugins`).
 */
export type DisabledFilter = ((r: AnyRegistration) => boolean) | readonly string[];

/** Turns a {@link DisabledFilter} into a predicate. */
export function disabledPredicate(disabled: DisabledFilter | undefined): (r: AnyRegistration) => boolean {
  if (disabled === undefined) return () => false;
  if (typeof disabled === "function") return disabled;
  const uris = new Set(disabled);
  return (r) => uris.has(uri(r));
}

function requiresAll(r: AnyRegistration): boolean {
  return r.requires?.includes("*") ?? false;
}

function validate(r: AnyRegistration, known: ReadonlySet<string>): void {
  if (typeof r !== "object" || r === null) throw new InvalidArgumentError("plugin: registration is not an object");
  const label = typeof r.id === "string" && r.id !== "" ? `plugin "${r.id}"` : "plugin";
  if (typeof r.type !== "string" || r.type === "") throw new InvalidArgumentError(`${label}: no type`);
  if (typeof r.id !== "string" || r.id === "") throw new InvalidArgumentError(`plugin of type ${r.type}: no id`);
  const u = uri(r);
  if (known.has(u)) throw new InvalidArgumentError(`${u}: plugin: id already registered`);
  if (typeof r.init !== "function") throw new InvalidArgumentError(`${u}: plugin: init is not a function`);
  if (r.requires !== undefined) {
    if (!Array.isArray(r.requires)) throw new InvalidArgumentError(`${u}: invalid requires: not an array`);
    for (const t of r.requires) {
      if (typeof t !== "string" || t === "") {
        throw new InvalidArgumentError(`${u}: invalid requires: entries must be non-empty plugin types`);
      }
      if (t === "*" && r.requires.length !== 1) {
        throw new InvalidArgumentError(`${u}: invalid requires: "*" must be the only requirement`);
      }
      if (t === r.type) {
        throw new InvalidArgumentError(`${u}: invalid requires: a plugin cannot require its own type ${r.type}`);
      }
    }
  }
  if (r.config !== undefined && (typeof r.config !== "object" || r.config === null || Array.isArray(r.config))) {
    throw new InvalidArgumentError(`${u}: plugin: config defaults must be an object`);
  }
}

/**
 * An immutable, ordered set of plugin registrations: what the daemon may load. The counterpart of
 * containerd's global plugin register, without the global: `register` returns a new registry, and the
 * daemon composes one explicitly from every package's plugin array.
 */
export class Registry {
  readonly #registrations: readonly AnyRegistration[];
  readonly #byUri: ReadonlyMap<string, AnyRegistration>;

  private constructor(registrations: readonly AnyRegistration[], byUri: ReadonlyMap<string, AnyRegistration>) {
    this.#registrations = registrations;
    this.#byUri = byUri;
  }

  /** The registry with no registrations. */
  static empty(): Registry {
    return new Registry(Object.freeze([]), new Map());
  }

  /** The registrations, in registration order. */
  get registrations(): readonly AnyRegistration[] {
    return this.#registrations;
  }

  /** The number of registrations. */
  get size(): number {
    return this.#registrations.length;
  }

  /** The registration with the given URI (`<type>.<id>`), if any. */
  get(pluginUri: string): AnyRegistration | undefined {
    return this.#byUri.get(pluginUri);
  }

  /**
   * Returns a new registry with `registrations` appended, in order; this registry is unchanged.
   *
   * @throws InvalidArgumentError on an empty type or id, a URI already registered (here or earlier in the
   *   same call), a `"*"` combined with other requirements, a plugin requiring its own type, a missing
   *   `init` function or malformed `requires`/`config`. Nothing is registered when one is rejected.
   */
  register(...registrations: readonly AnyRegistration[]): Registry {
    const byUri = new Map(this.#byUri);
    const known = new Set(byUri.keys());
    for (const r of registrations) {
      validate(r, known);
      known.add(uri(r));
      byUri.set(uri(r), r);
    }
    return new Registry(Object.freeze([...this.#registrations, ...registrations]), byUri);
  }

  /**
   * Returns the enabled registrations in initialization order, as containerd's `plugin.Graph`: each
   * registration in registration order, preceded (depth first) by every registered plugin of each type
   * it requires, in their registration order. A plugin requiring `"*"` comes after every other plugin
   * except other `"*"` plugins. The order is deterministic.
   *
   * A required type with no enabled plugin is not an error here: the dependent's init fails when it looks
   * the type up.
   *
   * @param disabled - registrations to leave out (a predicate or a list of URIs); they are not initialized.
   * @throws InvalidArgumentError when the requirements form a cycle; the message lists the plugins in it.
   */
  graph(disabled?: DisabledFilter): AnyRegistration[] {
    const isDisabled = disabledPredicate(disabled);
    const enabled = this.#registrations.filter((r) => !isDisabled(r));
    const state = new Map<AnyRegistration, "visiting" | "done">();
    const stack: AnyRegistration[] = [];
    const ordered: AnyRegistration[] = [];

    const visit = (r: AnyRegistration): void => {
      const s = state.get(r);
      if (s === "done") return;
      if (s === "visiting") {
        const cycle = [...stack.slice(stack.indexOf(r)), r].map(uri);
        throw new InvalidArgumentError(`plugin dependency cycle: ${cycle.join(" -> ")}`);
      }
      state.set(r, "visiting");
      stack.push(r);
      for (const t of r.requires ?? []) {
        for (const dep of enabled) {
          if (dep === r) continue;
          if (t === "*" ? !requiresAll(dep) : dep.type === t) visit(dep);
        }
      }
      stack.pop();
      state.set(r, "done");
      ordered.push(r);
    };

    for (const r of enabled) visit(r);
    return ordered;
  }
}

/**
 * Creates a registry holding `registrations`, in order.
 *
 * @throws InvalidArgumentError as {@link Registry.register}.
 */
export function createRegistry(registrations: readonly AnyRegistration[]): Registry {
  return Registry.empty().register(...registrations);
}
