/**
 * A memo of snapshot parent chains, so that preparing a snapshot on a deep chain (or asking for its
 * mounts) reads one record instead of one per ancestor.
 *
 * Sound because what it remembers never changes while it is remembered: a snapshot's id and parent are
 * fixed when it is created (commit keeps both; update changes labels only), ids are never handed out
 * twice once a record holding them is written, and a snapshot cannot be removed while it has children,
 * so an ancestor outlives every chain that goes through it. Entries are added only for records read from
 * the database (ancestors of the snapshot being created or mounted, never a record written by the
 * running transaction) and dropped when their snapshot is removed.
 */

/** One remembered snapshot: its id and its parent's entry (nearest first when walked). */
interface ChainLink {
  readonly id: string;
  readonly parent: ChainLink | undefined;
}

/** The parent chains of snapshots by id, as linked entries sharing their common ancestors. */
export class ParentChains {
  readonly #links = new Map<string, ChainLink>();

  /** The ids from snapshot `id` up to its root (nearest first), or undefined when not remembered. */
  chain(id: string): string[] | undefined {
    let link = this.#links.get(id);
    if (link === undefined) return undefined;
    const ids: string[] = [];
    for (; link !== undefined; link = link.parent) ids.push(link.id);
    return ids;
  }

  /**
   * Remembers the chain `ids` (nearest first): `ids[i]`'s parent is `ids[i + 1]`, and the last one's is
   * the remembered snapshot `above` (none: the last one is a root).
   */
  remember(ids: readonly string[], above?: string): void {
    let parent = above === undefined ? undefined : this.#links.get(above);
    if (above !== undefined && parent === undefined) return;
    for (let i = ids.length - 1; i >= 0; i--) {
      const id = ids[i]!;
      let link = this.#links.get(id);
      if (link === undefined) {
        link = { id, parent };
        this.#links.set(id, link);
      }
      parent = link;
    }
  }

  /** Forgets snapshot `id` (removed). */
  forget(id: string): void {
    this.#links.delete(id);
  }

  /** How many snapshots are remembered. */
  get size(): number {
    return this.#links.size;
  }
}
