import type { Command } from "commander";

import { withClient } from "../../cli.js";
import { logLine } from "./shared.js";

const layerPrefix = "containerd.io/gc.ref.content.l.";
const contentPrefix = "containerd.io/gc.ref.content.";

/** A layer reference label: `containerd.io/gc.ref.content.l.*`, or a legacy numeric index other than 0. */
export function isLayerLabel(key: string): boolean {
  if (key.startsWith(layerPrefix)) return true;
  if (!key.startsWith(contentPrefix)) return false;
  const rest = key.slice(contentPrefix.length);
  return /^\d*$/.test(rest) && rest !== "0";
}

/**
 * `content prune references [--async] [--dry]`: removes layer reference labels from every blob, then
 * triggers a garbage collection (a temporary lease deleted synchronously unless `--async`).
 */
export function register(c: Command): void {
  const prune = c.command("prune").description("prunes content from the content store");
  prune
    .command("references")
    .description("prunes preference labels from the content store (layers only by default)")
    .option("--async", "allow garbage collection to cleanup asynchronously")
    .option("--dry", "just show updates without applying (enables debug logging)")
    .action(async (opts: { async?: boolean; dry?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        if (opts.dry) logLine("debug", "dry run, no changes will be applied");
        const cs = client.content;
        await cs.walk(ctx, async (info) => {
          const fields: string[] = [];
          for (const k of Object.keys(info.labels)) {
            if (!isLayerLabel(k)) continue;
            if (opts.dry) logLine("debug", "Removing label", { digest: info.digest, label: k });
            else fields.push(`labels.${k}`);
          }
          if (fields.length === 0) return;
          await cs.update(ctx, { digest: info.digest, labels: {} }, fields);
        });
        const expire = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
        const lease = await client.leases.create(ctx, { labels: { "containerd.io/gc.expire": expire } });
        await client.leases.delete(ctx, lease, { sync: !opts.async });
      });
    });
}
