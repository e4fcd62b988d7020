/**
 * The Snapshots gRPC service (`containerd.services.snapshots.v1.Snapshots`) over a set of named
 * snapshotters: a mechanical adapter (pick the snapshotter, call, convert, map errors), answering as
 * containerd 1.6's `services/snapshots/service.go` does.
 */
import { InvalidArgumentError, UnknownError, isCanceled, isDeadlineExceeded, normalize } from "@containerts/errdefs";
import { SnapshotsService, type Info, type SnapshotsServer } from "@containerts/api/services/snapshots/v1";
import { grpcService, serverStream, unary, type GrpcServicePlugin } from "@containerts/namespaces/grpc";
import type { Snapshotter } from "../snapshotter.js";
import { infoFromProto, infoToProto, mountsToProto, usageToProto } from "./convert.js";

/** List sends infos in batches of at most this many, as containerd does. */
export const LIST_BATCH_SIZE = 100;

/**
 * Creates the Snapshots gRPC service over `snapshotters` (name → snapshotter; in the daemon, the
 * snapshots service's map). Every RPC names its snapshotter: an empty name is InvalidArgument
 * `snapshotter argument missing`, an unknown one InvalidArgument `snapshotter not loaded: <name>`.
 * List sends batches of at most {@link LIST_BATCH_SIZE}; as in containerd 1.6, an error raised while
 * listing (a bad filter, a missing namespace) is returned unclassified (UNKNOWN).
 */
export function createSnapshotsServer(snapshotters: ReadonlyMap<string, Snapshotter>): GrpcServicePlugin {
  const get = (name: string): Snapshotter => {
    if (name === "") throw new InvalidArgumentError("snapshotter argument missing");
    const sn = snapshotters.get(name);
    if (sn === undefined) throw new InvalidArgumentError(`snapshotter not loaded: ${name}`);
    return sn;
  };

  const impl: SnapshotsServer = {
    prepare: unary(async (req, ctx) => {
      const mounts = await get(req.snapshotter).prepare(ctx, req.key, req.parent, { labels: req.labels });
      return { mounts: mountsToProto(mounts) };
    }),
    view: unary(async (req, ctx) => {
      const mounts = await get(req.snapshotter).view(ctx, req.key, req.parent, { labels: req.labels });
      return { mounts: mountsToProto(mounts) };
    }),
    mounts: unary(async (req, ctx) => ({ mounts: mountsToProto(await get(req.snapshotter).mounts(ctx, req.key)) })),
    commit: unary(async (req, ctx) => {
      await get(req.snapshotter).commit(ctx, req.name, req.key, { labels: req.labels });
      return {};
    }),
    remove: unary(async (req, ctx) => {
      await get(req.snapshotter).remove(ctx, req.key);
      return {};
    }),
    stat: unary(async (req, ctx) => ({ info: infoToProto(await get(req.snapshotter).stat(ctx, req.key)) })),
    update: unary(async (req, ctx) => {
      const sn = get(req.snapshotter);
      const info = await sn.update(ctx, infoFromProto(req.info ?? emptyInfo), req.updateMask ?? []);
      return { info: infoToProto(info) };
    }),
    list: serverStream(async (req, ctx, send) => {
      const sn = get(req.snapshotter);
      let batch: Info[] = [];
      try {
        await sn.walk(
          ctx,
          async (info) => {
            batch.push(infoToProto(info));
            if (batch.length >= LIST_BATCH_SIZE) {
              const full = batch;
              batch = [];
              await send({ info: full });
            }
          },
          req.filters,
        );
      } catch (err) {
        // containerd returns the walk's error without classifying it.
        if (isCanceled(err) || isDeadlineExceeded(err)) throw err;
        throw new UnknownError(normalize(err).message, { cause: err, bare: true });
      }
      if (batch.length > 0) await send({ info: batch });
    }),
    usage: unary(async (req, ctx) => usageToProto(await get(req.snapshotter).usage(ctx, req.key))),
    cleanup: unary(async (req, ctx) => {
      await get(req.snapshotter).cleanup(ctx);
      return {};
    }),
  };
  return grpcService(SnapshotsService, impl);
}

const emptyInfo: Info = { name: "", parent: "", kind: 0, createdAt: undefined, updatedAt: undefined, labels: {} };
