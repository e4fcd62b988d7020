/**
 * A minimal in-memory container store for the tests (the real one is the metadata plugin's; tasks does
 * not depend on metadata). It follows the store contract where the tests rely on it.
 */
import { AlreadyExistsError, NotFoundError } from "@containerts/errdefs";
import type { Container, ContainerInput, ContainerStore } from "@containerts/containers";
import { type Context, namespaceRequired, validateIdentifier } from "@containerts/namespaces";

export class MemoryContainerStore implements ContainerStore {
  readonly #items = new Map<string, Container>();

  async get(ctx: Context, id: string): Promise<Container> {
    const ns = namespaceRequired(ctx);
    const c = this.#items.get(`${ns}/${id}`);
    if (c === undefined) throw new NotFoundError(`container ${JSON.stringify(id)} in namespace ${JSON.stringify(ns)}`);
    return c;
  }

  async list(ctx: Context): Promise<Container[]> {
    const ns = namespaceRequired(ctx);
    return [...this.#items.entries()].filter(([k]) => k.startsWith(`${ns}/`)).map(([, v]) => v);
  }

  async create(ctx: Context, input: ContainerInput): Promise<Container> {
    const ns = namespaceRequired(ctx);
    validateIdentifier(input.id);
    const key = `${ns}/${input.id}`;
    if (this.#items.has(key)) throw new AlreadyExistsError(`container ${JSON.stringify(input.id)}`);
    const now = new Date();
    const c: Container = {
      id: input.id,
      labels: { ...(input.labels ?? {}) },
      image: input.image ?? "",
      runtime: input.runtime ?? { name: "" },
      ...(input.spec === undefined ? {} : { spec: input.spec }),
      snapshotter: input.snapshotter ?? "",
      snapshotKey: input.snapshotKey ?? "",
      createdAt: now,
      updatedAt: now,
      extensions: { ...(input.extensions ?? {}) },
    };
    this.#items.set(key, c);
    return c;
  }

  async update(ctx: Context, input: ContainerInput): Promise<Container> {
    const existing = await this.get(ctx, input.id);
    const c: Container = { ...existing, ...input, updatedAt: new Date() } as Container;
    this.#items.set(`${namespaceRequired(ctx)}/${input.id}`, c);
    return c;
  }

  async delete(ctx: Context, id: string): Promise<void> {
    const ns = namespaceRequired(ctx);
    if (!this.#items.delete(`${ns}/${id}`)) throw new NotFoundError(`container ${id}`);
  }
}
