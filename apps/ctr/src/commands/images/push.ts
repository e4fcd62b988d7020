import type { Command } from "commander";
import type { Digest } from "@containerts/client";
import { CommandError, withClient } from "../../cli.js";
import { ProgressDisplay } from "./progress.js";
import { type RegistryFlagValues, collect, registryFlags, remoteOptions } from "./shared.js";

interface PushFlags extends RegistryFlagValues {
  readonly manifest?: string;
  readonly manifestType: string;
  readonly platform?: string[];
  readonly maxConcurrentUploadedLayers?: string;
  readonly allowNonDistributableBlobs?: boolean;
}

/**
 * `images push [flags] <remote> [<local>]`: pushes the image `local` (default: the remote name) or the
 * manifest given with `--manifest`, as ctr. Blobs the registry has are skipped, blobs from another
 * repository of the same registry are mounted, manifests go last.
 */
export function register(images: Command): void {
  const cmd = images
    .command("push")
    .description("push an image to a remote")
    .argument("[remote]")
    .argument("[local]")
    .option("--manifest <digest>", "digest of manifest")
    .option("--manifest-type <type>", "media type of manifest digest", "application/vnd.oci.image.manifest.v1+json")
    .option("--platform <platform>", "push content from a specific platform", collect)
    .option("--max-concurrent-uploaded-layers <n>", "Set the max concurrent uploaded layers for each push")
    .option("--allow-non-distributable-blobs", "Allow pushing blobs that are marked as non-distributable");
  registryFlags(cmd);
  cmd.action(async (ref: string | undefined, local: string | undefined, o: PushFlags, c: Command) => {
    if (ref === undefined || ref === "") throw new CommandError("please provide a remote image reference to push");
    const max = o.maxConcurrentUploadedLayers !== undefined ? Number(o.maxConcurrentUploadedLayers) : undefined;
    await withClient(c, async (client, ctx) => {
      let image;
      if (o.manifest !== undefined && o.manifest !== "") {
        const info = await client.content.info(ctx, o.manifest as Digest);
        image = { mediaType: o.manifestType, digest: info.digest, size: info.size };
      } else {
        try {
          image = (await client.images.get(ctx, local !== undefined && local !== "" ? local : ref)).target;
        } catch (err) {
          throw new CommandError(`unable to resolve image to manifest: ${(err as Error).message}`);
        }
      }
      const platform = o.platform !== undefined && o.platform.length === 1 ? o.platform[0] : undefined;
      const display = new ProgressDisplay();
      try {
        await client.push(ctx, ref, image, {
          ...remoteOptions(o),
          onProgress: display.update,
          ...(platform !== undefined ? { platform } : {}),
          ...(max !== undefined && max > 0 ? { maxConcurrentUploads: max } : {}),
          ...(o.allowNonDistributableBlobs === true ? { allowNonDistributable: true } : {}),
        });
        display.stop(true);
      } catch (err) {
        display.stop(false);
        throw err;
      }
    });
  });
}
