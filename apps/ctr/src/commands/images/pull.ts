import type { Command } from "commander";
import { defaultPlatform, formatPlatform, imagePlatforms, parsePlatform, type Platform } from "@containerts/client";
import { CommandError, println, withClient } from "../../cli.js";
import { ProgressDisplay } from "./progress.js";
import { type RegistryFlagValues, collect, goDuration, labelFlags, registryFlags, remoteOptions, snapshotterFlag } from "./shared.js";

interface PullFlags extends RegistryFlagValues {
  readonly snapshotter: string;
  readonly label?: string[];
  readonly platform?: string[];
  readonly allPlatforms?: boolean;
  readonly printChainid?: boolean;
  readonly maxConcurrentDownloads?: string;
}

/**
 * `images pull [flags] <ref>`: fetches the image for the platform(s), unpacks it and records it, as ctr.
 * With one platform (the default) the layers are unpacked while the later ones download; the lines
 * `unpacking <platform> <digest>...` and `done: <duration>` follow, as ctr prints them.
 */
export function register(images: Command): void {
  const cmd = images
    .command("pull")
    .description("pull an image from a remote")
    .argument("[ref]")
    .option("--platform <platform>", "Pull content from a specific platform", collect)
    .option("--all-platforms", "pull content and metadata from all platforms")
    .option("--print-chainid", "Print the resulting image's chain ID")
    .option("--max-concurrent-downloads <n>", "Set the max concurrent downloads for each pull")
    .option("--label <key=value>", "labels to attach to the image", collect);
  registryFlags(cmd);
  snapshotterFlag(cmd);
  cmd.action(async (ref: string | undefined, o: PullFlags, c: Command) => {
    if (ref === undefined || ref === "") throw new CommandError("please provide an image reference to pull");
    const max = o.maxConcurrentDownloads !== undefined ? Number(o.maxConcurrentDownloads) : undefined;
    await withClient(c, async (client, ctx) => {
      const display = new ProgressDisplay();
      const platforms: Platform[] = (o.platform ?? []).map((p) => parsePlatform(p));
      const common = {
        ...remoteOptions(o),
        ...(o.snapshotter !== "" ? { snapshotter: o.snapshotter } : {}),
        labels: labelFlags(o.label),
        onProgress: display.update,
        ...(max !== undefined && max > 0 ? { maxConcurrentDownloads: max } : {}),
      };
      const start = performance.now();
      let image;
      let unpackPlatforms: Platform[];
      try {
        if (o.allPlatforms === true || platforms.length > 1) {
          // Several platforms: fetch them all, then unpack each (as ctr does).
          image = await client.fetch(ctx, ref, { ...common, ...(o.allPlatforms === true ? { allPlatforms: true } : { platforms }) });
          unpackPlatforms = o.allPlatforms === true ? await imagePlatforms(client.content, ctx, image.target) : platforms;
        } else {
          image = await client.pull(ctx, ref, { ...common, unpack: true, ...(platforms[0] !== undefined ? { platform: platforms[0] } : {}) });
          unpackPlatforms = [platforms[0] ?? defaultPlatform()];
        }
        display.stop(true);
      } catch (err) {
        display.stop(false);
        throw err;
      }
      const seen = new Set<string>();
      for (const p of unpackPlatforms) {
        const name = formatPlatform(p);
        if (seen.has(name)) continue;
        seen.add(name);
        println(`unpacking ${name} ${image.target.digest}...`);
        const r = await client.unpack(ctx, image, { platform: p, ...(o.snapshotter !== "" ? { snapshotter: o.snapshotter } : {}) });
        if (o.printChainid === true) println(`image chain ID: ${r.chainId}`);
      }
      println(`done: ${goDuration(performance.now() - start)}\t`);
    });
  });
}
