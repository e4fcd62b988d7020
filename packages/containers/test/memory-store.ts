/**
 * An in-memory {@link ContainerStore} for the tests of this package (the real store is the metadata one):
 * the pure helpers of the root entry composed into the contract.
 */
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, normalize, withContext } from "@containerts/errdefs";
import { type Context, cleanLabels, namespaceRequired } from "@containerts/namespaces";
import {
  type Container,
  type ContainerInput,
  type ContainerStore,
  adaptContainer,
  applyContainerUpdate,
  normalizeContainer,
  parseContainerFilters,
  validateContainer,
} from "../src/index.js";

export class MemoryContainerStore implements ContainerStore {
  readonly #byNs = new Map<string, Map<string, Container>>();

  #ns(ctx: Context): Map<string, Container> {
    const ns = namespaceRequired(ctx);
    if (ctx.signal.aborted) throw normalize(ctx.signal.reason);
    let m = this.#byNs.get(ns);
    if (m === undefined) {
      m = new Map();
      this.#byNs.set(ns, m);
    }
    return m;
  }

  async get(ctx: Context, id: string): Promise<Container> {
    const c = this.#ns(ctx).get(id);
    if (c === undefined) throw new NotFoundError(`container ${JSON.stringify(id)} in namespace ${JSON.stringify(ctx.namespace)}`);
    return c;
  }

  async list(ctx: Context, filters: readonly string[] = []): Promise<Container[]> {
    const m = this.#ns(ctx);
    const f = parseContainerFilters(filters);
    return [...m.values()].filter((c) => f.match(adaptContainer(c))).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async create(ctx: Context, input: ContainerInput): Promise<Container> {
    const m = this.#ns(ctx);
    try {
      validateContainer(input);
    } catch (err) {
      throw withContext(err, "create container failed validation");
    }
    if (m.has(input.id)) throw new AlreadyExistsError(`container ${JSON.stringify(input.id)}`);
    const now = new Date();
    const c = normalizeContainer({ ...input, createdAt: now, updatedAt: now });
    const stored = { ...c, labels: cleanLabels(c.labels) };
    m.set(c.id, stored);
    return stored;
  }

  async update(ctx: Context, input: ContainerInput, fieldpaths: readonly string[] = []): Promise<Container> {
    const m = this.#ns(ctx);
    if (input.id === "") throw new InvalidArgumentError("must specify a container id");
    const stored = m.get(input.id);
    if (stored === undefined) throw new NotFoundError(`container ${JSON.stringify(input.id)}`);
    const updated = applyContainerUpdate(stored, input, fieldpaths);
    m.set(updated.id, updated);
    return updated;
  }

  async delete(ctx: Context, id: string): Promise<void> {
    if (!this.#ns(ctx).delete(id)) throw new NotFoundError(`container ${id}`);
  }
}
