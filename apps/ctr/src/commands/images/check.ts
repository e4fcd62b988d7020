import type { Command } from "commander";
import { check, defaultPlatformMatcher } from "@containerts/client";
import { CommandError, println, withClient } from "../../cli.js";
import { TabWriter, narrow } from "../../tabwriter.js";
import { humanBytes, snapshotterFlag } from "./shared.js";

/**
 * `images check [-q] [filters...]`: REF TYPE DIGEST STATUS SIZE UNPACKED — whether each image's blobs for
 * the host platform are present (`complete (n/n)`, `incomplete (n/m)`, `unavailable (n/?)`) and whether it
 * is unpacked in the snapshotter, as ctr. `-q` prints the complete images only.
 */
export function register(images: Command): void {
  const cmd = images
    .command("check")
    .description("check existing images to ensure all content is available locally")
    .argument("[filters...]")
    .option("-q, --quiet", "print only the ready image refs (fully downloaded and unpacked)");
  snapshotterFlag(cmd);
  cmd.action(async (filters: string[], o: { quiet?: boolean; snapshotter: string }, c: Command) => {
    await withClient(c, async (client, ctx) => {
      const list = await client.images.list(ctx, filters);
      if (list.length === 0) return;
      let exitErr: string | undefined;
      const w = new TabWriter(narrow);
      if (o.quiet !== true) w.line("REF", "TYPE", "DIGEST", "STATUS", "SIZE", "UNPACKED", "");
      const host = defaultPlatformMatcher();
      for (const image of list) {
        let status = "complete";
        let sizeText: string;
        let complete = true;
        try {
          const r = await check(client.content, ctx, image.target, host);
          const required = r.required.reduce((n, d) => n + d.size, 0);
          const present = r.present.reduce((n, d) => n + d.size, 0);
          if (r.missing.length > 0) {
            status = "incomplete";
            complete = false;
          }
          if (r.available) {
            status += ` (${r.present.length}/${r.required.length})`;
            sizeText = `${humanBytes(present)}/${humanBytes(required)}`;
          } else {
            status = `unavailable (${r.present.length}/?)`;
            sizeText = `${humanBytes(present)}/?`;
            complete = false;
          }
        } catch (err) {
          exitErr ??= `unable to check ${image.name}: ${(err as Error).message}`;
          process.stderr.write(`ERRO[0000] unable to check ${image.name}  error="${(err as Error).message}"\n`);
          status = "error";
          sizeText = "-";
          complete = false;
        }
        let unpacked = false;
        try {
          unpacked = await client.isUnpacked(ctx, image, { platform: host, ...(o.snapshotter !== "" ? { snapshotter: o.snapshotter } : {}) });
        } catch (err) {
          exitErr ??= `unable to check unpack for ${image.name}: ${(err as Error).message}`;
          process.stderr.write(`ERRO[0000] unable to check unpack for ${image.name}  error="${(err as Error).message}"\n`);
        }
        if (o.quiet !== true) w.line(image.name, image.target.mediaType, image.target.digest, status, sizeText, String(unpacked));
        else if (complete) println(image.name);
      }
      if (o.quiet !== true) w.flush();
      if (exitErr !== undefined) throw new CommandError(exitErr);
    });
  });
}
