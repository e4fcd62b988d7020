import type { Command } from "commander";
import { println, withClient } from "../../cli.js";
import { snapshotterOf, type SnapshotInfo } from "./shared.js";

interface Node {
  info: { name: string; parent?: string };
  children: string[];
}

/** ctr's snapshot tree: nodes in walk order, placeholders for parents not seen yet. */
export function buildTree(infos: readonly SnapshotInfo[]): { nodes: Node[]; index: Map<string, Node> } {
  const nodes: Node[] = [];
  const index = new Map<string, Node>();
  const add = (info: { name: string; parent?: string }): Node => {
    let entry = index.get(info.name);
    if (entry === undefined) {
      entry = { info, children: [] };
      nodes.push(entry);
      index.set(info.name, entry);
    } else {
      entry.info = info;
    }
    if (info.parent !== undefined && info.parent !== "") {
      const pn = index.get(info.parent) ?? add({ name: info.parent });
      pn.children.push(info.name);
    }
    return entry;
  };
  for (const i of infos) add(i);
  return { nodes, index };
}

/** The lines ctr's `snapshots tree` prints: roots, then children indented two spaces per level after `\_`. */
export function treeLines(infos: readonly SnapshotInfo[]): string[] {
  const { nodes, index } = buildTree(infos);
  const out: string[] = [];
  const print = (name: string, level: number): void => {
    const node = index.get(name)!;
    let prefix = "  ".repeat(level);
    if (level > 0) prefix += "\\_";
    out.push(`${prefix} ${node.info.name}`);
    for (const child of node.children) print(child, level + 1);
  };
  for (const n of nodes) if (n.info.parent === undefined || n.info.parent === "") print(n.info.name, 0);
  return out;
}

/** `snapshots tree`: the snapshot branches. */
export function register(s: Command): void {
  s.command("tree")
    .description("display tree view of snapshot branches")
    .action(async (_o, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const infos: SnapshotInfo[] = [];
        await snapshotterOf(cmd, client).walk(ctx, (info) => {
          infos.push(info);
        });
        for (const line of treeLines(infos)) println(line);
      });
    });
}
