import type { Command } from "commander";
import { CommandError, withClient } from "../../cli.js";
import { collect } from "./shared.js";

interface ExportFlags {
  readonly skipManifestJson?: boolean;
  readonly skipNonDistributable?: boolean;
  readonly platform?: string[];
  readonly allPlatforms?: boolean;
}

/**
 * `images export [flags] <out> <image> ...`: writes an OCI archive of the images (`-` writes stdout),
 * with a Docker `manifest.json` for the platform unless `--skip-manifest-json`, as ctr.
 */
export function register(images: Command): void {
  images
    .command("export")
    .description("export images")
    .argument("[out]")
    .argument("[images...]")
    .option("--skip-manifest-json", "do not add Docker compatible manifest.json to archive")
    .option("--skip-non-distributable", "do not add non-distributable blobs such as Windows layers to archive")
    .option("--platform <platform>", "Pull content from a specific platform", collect)
    .option("--all-platforms", "exports content from all platforms")
    .action(async (out: string | undefined, names: string[], o: ExportFlags, c: Command) => {
      if (out === undefined || out === "" || names.length === 0) {
        throw new CommandError("please provide both an output filename and an image reference to export");
      }
      await withClient(c, async (client, ctx) => {
        await client.exportArchive(ctx, names, out === "-" ? process.stdout : out, {
          format: o.skipManifestJson === true ? "oci" : "docker",
          ...(o.platform !== undefined && o.platform.length > 0 ? { platform: o.platform } : {}),
          ...(o.allPlatforms === true ? { allPlatforms: true } : {}),
          ...(o.skipNonDistributable === true ? { skipNonDistributable: true } : {}),
        });
      });
    });
}
