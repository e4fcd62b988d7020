import type { Command } from "commander";
import { matcherFor } from "@containerts/client";
import { CommandError, withClient } from "../../cli.js";
import { snapshotterFlag } from "./shared.js";

interface ImportFlags {
  readonly baseName?: string;
  readonly digests?: boolean;
  readonly skipDigestForNamed?: boolean;
  readonly indexName?: string;
  readonly allPlatforms?: boolean;
  readonly platform?: string;
  readonly unpack: boolean;
  readonly compressBlobs?: boolean;
  readonly snapshotter: string;
}

/**
 * `images import [flags] <in>`: imports an OCI layout or `docker save` archive (`-` reads stdin), then
 * unpacks each image (`unpacking <name> (<digest>)...done`) unless `--no-unpack`, as ctr.
 */
export function register(images: Command): void {
  const cmd = images
    .command("import")
    .description("import images")
    .argument("[in]")
    .option("--base-name <name>", "base image name for added images, when provided only images with this name prefix are imported")
    .option("--digests", "whether to create digest images (default: false)")
    .option("--skip-digest-for-named", "skip applying --digests option to images named in the importing tar (use it in conjunction with --digests)")
    .option("--index-name <name>", "image name to keep index as, by default index is discarded")
    .option("--all-platforms", "imports content for all platforms, false by default")
    .option("--platform <platform>", "imports content for specific platform")
    .option("--no-unpack", "skip unpacking the images, false by default")
    .option("--compress-blobs", "compress uncompressed blobs when creating manifest (Docker format only)");
  snapshotterFlag(cmd);
  cmd.action(async (input: string | undefined, o: ImportFlags, c: Command) => {
    if (input === undefined || input === "") throw new CommandError("please provide an archive to import");
    if (o.skipDigestForNamed === true && o.digests !== true) throw new CommandError("--skip-digest-for-named must be specified with --digests option");
    if (o.compressBlobs === true) throw new CommandError("--compress-blobs is not supported by tsctr");
    await withClient(c, async (client, ctx) => {
      const source = input === "-" ? (process.stdin as AsyncIterable<Uint8Array>) : input;
      const { images: imported } = await client.importArchive(ctx, source, {
        ...(o.baseName !== undefined ? { baseName: o.baseName } : {}),
        ...(o.digests === true ? { digests: true } : {}),
        ...(o.skipDigestForNamed === true ? { skipDigestForNamed: true } : {}),
        ...(o.indexName !== undefined ? { indexName: o.indexName } : {}),
        ...(o.allPlatforms === true ? { allPlatforms: true } : {}),
        ...(o.platform !== undefined && o.platform !== "" ? { platform: o.platform } : {}),
      });
      if (!o.unpack) return;
      const platform = matcherFor(o.platform !== undefined && o.platform !== "" ? o.platform : undefined, o.platform ? "strict" : "only");
      for (const image of imported) {
        process.stdout.write(`unpacking ${image.name} (${image.target.digest})...`);
        await client.unpack(ctx, image, { platform, ...(o.snapshotter !== "" ? { snapshotter: o.snapshotter } : {}) });
        process.stdout.write("done\n");
      }
    });
  });
}
