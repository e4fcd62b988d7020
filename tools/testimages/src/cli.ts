#!/usr/bin/env node
/**
 * The test-image CLI:
 *
 * ```
 * containerts-testimages busybox   [-o busybox.tar] [--name REF] [--format oci|docker|docker-oci] [--compression gzip|none] [--busybox PATH]
 * containerts-testimages synthetic [-o synthetic.tar] [--layers N] [--files N] [--bytes N] [--seed S] [--no-busybox] [same as busybox]
 * containerts-testimages all       [--out-dir DIR]   (busybox.tar, busybox-docker.tar, busybox-docker-oci.tar, synthetic.tar)
 * containerts-testimages rootfs    DIR [--busybox PATH]
 * ```
 *
 * Prints one JSON line per archive (name, digests, layers, size).
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type ArchiveFormat, type LayerCompression, buildBusybox, buildSynthetic, writeBusyboxRootfs } from "./index.js";

const USAGE = `usage:
  containerts-testimages busybox   [-o FILE] [--name REF] [--format oci|docker|docker-oci] [--compression gzip|none] [--busybox PATH]
  containerts-testimages synthetic [-o FILE] [--layers N] [--files N] [--bytes N] [--seed S] [--no-busybox] [--name REF] [--format F] [--compression C]
  containerts-testimages all       [--out-dir DIR]
  containerts-testimages rootfs    DIR [--busybox PATH]
`;

function fail(message: string): never {
  process.stderr.write(`containerts-testimages: ${message}\n${USAGE}`);
  process.exit(2);
}

function int(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) fail(`${what} ${value} is not an integer`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      output: { type: "string", short: "o" },
      name: { type: "string" },
      format: { type: "string" },
      compression: { type: "string" },
      busybox: { type: "string" },
      layers: { type: "string" },
      files: { type: "string" },
      bytes: { type: "string" },
      seed: { type: "string" },
      "no-busybox": { type: "boolean" },
      "out-dir": { type: "string" },
    },
  });
  const format = values.format as ArchiveFormat | undefined;
  if (format !== undefined && !["oci", "docker", "docker-oci"].includes(format)) fail(`unknown format ${format}`);
  const compression = values.compression as LayerCompression | undefined;
  if (compression !== undefined && !["gzip", "none"].includes(compression)) fail(`unknown compression ${compression}`);
  const common = {
    ...(values.name === undefined ? {} : { name: values.name }),
    ...(format === undefined ? {} : { format }),
    ...(compression === undefined ? {} : { compression }),
    ...(values.busybox === undefined ? {} : { busybox: values.busybox }),
  };
  const print = (info: object): void => void process.stdout.write(`${JSON.stringify(info)}\n`);
  switch (command) {
    case "busybox":
      print(await buildBusybox(values.output ?? "busybox.tar", common));
      return;
    case "synthetic": {
      const layers = int(values.layers, "--layers");
      const filesPerLayer = int(values.files, "--files");
      const bytesPerLayer = int(values.bytes, "--bytes");
      print(
        await buildSynthetic(values.output ?? "synthetic.tar", {
          ...common,
          ...(layers === undefined ? {} : { layers }),
          ...(filesPerLayer === undefined ? {} : { filesPerLayer }),
          ...(bytesPerLayer === undefined ? {} : { bytesPerLayer }),
          ...(values.seed === undefined ? {} : { seed: values.seed }),
          ...(values["no-busybox"] ? { busyboxBase: false } : {}),
        }),
      );
      return;
    }
    case "all": {
      const dir = values["out-dir"] ?? ".";
      await mkdir(dir, { recursive: true });
      const bb = values.busybox === undefined ? {} : { busybox: values.busybox };
      print(await buildBusybox(join(dir, "busybox.tar"), bb));
      print(await buildBusybox(join(dir, "busybox-docker.tar"), { ...bb, format: "docker" }));
      print(await buildBusybox(join(dir, "busybox-docker-oci.tar"), { ...bb, format: "docker-oci" }));
      print(await buildSynthetic(join(dir, "synthetic.tar"), bb));
      return;
    }
    case "rootfs": {
      const dir = positionals[0];
      if (dir === undefined) fail("rootfs needs a directory");
      await writeBusyboxRootfs(dir, values.busybox === undefined ? {} : { busybox: values.busybox });
      return;
    }
    default:
      fail(command === undefined ? "missing command" : `unknown command ${command}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`containerts-testimages: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
