import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import { CommandError, labelArgs, withClient } from "../../cli.js";
import { gcRootNow, snapshotterOf, type Mount, type Snapshotter } from "./shared.js";

const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

/** containerd's `uniquePart()` for temporary view keys: `<nanoseconds of the second>-<base64url of 3 bytes>`. */
function uniquePart(): string {
  const ns = (Date.now() % 1000) * 1_000_000 + Number(process.hrtime.bigint() % 1_000_000n);
  return `${ns}-${randomBytes(3).toString("base64url")}`;
}

type Ctx = Parameters<Snapshotter["stat"]>[0];

/** ctr's `withMounts`: an active snapshot's own mounts, or a temporary view of a committed one. */
async function withMounts<T>(ctx: Ctx, id: string, sn: Snapshotter, fn: (m: Mount[]) => Promise<T>): Promise<T> {
  const info = await sn.stat(ctx, id);
  if (info.kind === "active") return fn([...(await sn.mounts(ctx, id))]);
  const key = `${id}-view-key`;
  const mounts = await sn.view(ctx, key, id);
  try {
    return await fn([...mounts]);
  } finally {
    await sn.remove(ctx, key).catch(() => undefined);
  }
}

/**
 * `snapshots diff [--media-type M] [--ref R] [--keep] [--label k=v…] ID_A [ID_B]`: the layer between two
 * snapshots (by default ID_A and its parent), written to the content store under a temporary lease and
 * printed on stdout, as ctr's `snapshots diff` (`rootfs.CreateDiff` for one argument).
 */
export function register(s: Command): void {
  s.command("diff")
    .description("get the diff of two snapshots. the default second snapshot is the first snapshot's parent.")
    .argument("[args...]", "[flags] <idA> [<idB>]")
    .option("--media-type <type>", "media type to use for creating diff", OCI_LAYER_GZIP)
    .option("--ref <ref>", "content upload reference to use", "")
    .option("--keep", "keep diff content. up to creator to delete it.")
    .option("--label <label>", "labels to attach to the image", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (args: string[], opts: { mediaType: string; ref: string; keep?: boolean; label: string[] }, cmd: Command) => {
      const [idA = "", idB = ""] = args;
      if (idA === "") throw new CommandError("snapshot id must be provided");
      await withClient(cmd, async (client, baseCtx) => {
        const expire = new Date(Date.now() + 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, "Z");
        const lease = await client.leases.create(baseCtx, { labels: { "containerd.io/gc.expire": expire } });
        const ctx = { ...baseCtx, leaseId: lease.id };
        try {
          const labels = labelArgs(opts.label);
          if (opts.keep === true) Object.assign(labels, gcRootNow());
          const diffOpts = { mediaType: opts.mediaType, ref: opts.ref, labels };
          const sn = snapshotterOf(cmd, client);
          let desc;
          if (idB === "") {
            const info = await sn.stat(ctx, idA);
            const lowerKey = `${info.parent ?? ""}-parent-view-${uniquePart()}`;
            const lower = await sn.view(ctx, lowerKey, info.parent ?? "");
            try {
              if (info.kind === "active") {
                desc = await client.diff.compare(ctx, lower, await sn.mounts(ctx, idA), diffOpts);
              } else {
                const upperKey = `${idA}-view-${uniquePart()}`;
                const upper = await sn.view(ctx, upperKey, idA);
                try {
                  desc = await client.diff.compare(ctx, lower, upper, diffOpts);
                } finally {
                  await sn.remove(ctx, upperKey).catch(() => undefined);
                }
              }
            } finally {
              await sn.remove(ctx, lowerKey).catch(() => undefined);
            }
          } else {
            desc = await withMounts(ctx, idA, sn, (a) => withMounts(ctx, idB, sn, (b) => client.diff.compare(ctx, a, b, diffOpts)));
          }
          for await (const chunk of client.content.read(ctx, desc.digest)) {
            if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once("drain", r));
          }
        } finally {
          await client.leases.delete(baseCtx, { id: lease.id }).catch(() => undefined);
        }
      });
    });
}
