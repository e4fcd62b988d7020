import type { Command } from "commander";
import { CommandError, withClient } from "../../cli.js";
import { ProgressDisplay } from "../images/progress.js";
import { type RegistryFlagValues, collect, labelFlags, registryFlags, remoteOptions } from "../images/shared.js";

interface FetchFlags extends RegistryFlagValues {
  readonly label?: string[];
  readonly platform?: string[];
  readonly allPlatforms?: boolean;
  readonly maxConcurrentDownloads?: string;
}

/**
 * `content fetch [flags] <ref>`: fetches every blob of the image for the platform(s) (the host's by
 * default, all with `--all-platforms`) into the content store and records the image, without unpacking
 * (ctr's `content fetch`). The progress table is drawn on a terminal.
 */
export function register(content: Command): void {
  const cmd = content
    .command("fetch")
    .description("fetch all content for an image into containerd")
    .argument("[ref]")
    .option("--platform <platform>", "Pull content from a specific platform", collect)
    .option("--all-platforms", "pull content from all platforms")
    .option("--max-concurrent-downloads <n>", "Set the max concurrent downloads for each pull")
    .option("--label <key=value>", "labels to attach to the image", collect);
  registryFlags(cmd);
  cmd.action(async (ref: string | undefined, o: FetchFlags, c: Command) => {
    if (ref === undefined || ref === "") throw new CommandError("please provide an image reference to fetch");
    const max = o.maxConcurrentDownloads !== undefined ? Number(o.maxConcurrentDownloads) : undefined;
    await withClient(c, async (client, ctx) => {
      const display = new ProgressDisplay();
      try {
        await client.fetch(ctx, ref, {
          ...remoteOptions(o),
          labels: labelFlags(o.label),
          onProgress: display.update,
          ...(o.allPlatforms === true ? { allPlatforms: true } : { platforms: o.platform ?? [] }),
          ...(max !== undefined && max > 0 ? { maxConcurrentDownloads: max } : {}),
        });
        display.stop(true);
      } catch (err) {
        display.stop(false);
        throw err;
      }
    });
  });
}
