import type { Command } from "commander";
import { defaultPlatformMatcher, formatPlatform, imagePlatforms, size } from "@containerts/client";
import { println, withClient } from "../../cli.js";
import { TabWriter, narrow } from "../../tabwriter.js";
import { humanBytes } from "./shared.js";

/**
 * `images list|ls [-q] [filters...]`: REF TYPE DIGEST SIZE PLATFORMS LABELS, as ctr (size for the host
 * platform; platforms sorted and deduplicated; labels `k=v` sorted, `-` when none).
 */
export function register(images: Command): void {
  images
    .command("list")
    .alias("ls")
    .description("list images known to containerd")
    .argument("[filters...]")
    .option("-q, --quiet", "print only the image refs")
    .action(async (filters: string[], o: { quiet?: boolean }, c: Command) => {
      await withClient(c, async (client, ctx) => {
        const list = await client.images.list(ctx, filters);
        if (o.quiet === true) {
          for (const image of list) println(image.name);
          return;
        }
        const w = new TabWriter(narrow);
        w.line("REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS", "LABELS", "");
        const host = defaultPlatformMatcher();
        for (const image of list) {
          let bytes = 0;
          try {
            bytes = await size(client.content, ctx, image.target, host);
          } catch (err) {
            process.stderr.write(`ERRO[0000] failed calculating size for image ${image.name}  error="${(err as Error).message}"\n`);
          }
          let platforms = "-";
          try {
            const names = [...new Set((await imagePlatforms(client.content, ctx, image.target)).map(formatPlatform))].sort();
            if (names.length > 0) platforms = names.join(",");
          } catch (err) {
            process.stderr.write(`ERRO[0000] failed resolving platform for image ${image.name}  error="${(err as Error).message}"\n`);
          }
          const pairs = Object.entries(image.labels).map(([k, v]) => `${k}=${v}`).sort();
          w.line(image.name, image.target.mediaType, image.target.digest, humanBytes(bytes), platforms, pairs.length > 0 ? pairs.join(",") : "-", "");
        }
        w.flush();
      });
    });
}
