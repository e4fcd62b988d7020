import { DiffService as DiffServiceDefinition, type DiffServer } from "@containerts/api/services/diff/v1";
import { InvalidArgumentError } from "@containerts/errdefs";
import { grpcService, unary, type GrpcServicePlugin } from "@containerts/namespaces/grpc";
import type { CompareOptions, DiffService } from "../diff.js";
import { descriptorFromProto, descriptorToProto, mountFromProto, payloadsFromProto } from "./convert.js";

/**
 * The Diff gRPC service (`containerd.services.diff.v1.Diff`) over a {@link DiffService}: Apply and Diff,
 * with `ApplyResponse.applied` and `DiffResponse.diff` always set, as the Go client requires.
 */
export function createDiffServer(service: DiffService): GrpcServicePlugin {
  const impl: DiffServer = {
    apply: unary(async (req, ctx) => {
      if (req.diff === undefined) throw new InvalidArgumentError("apply request without a diff descriptor");
      const applied = await service.apply(ctx, descriptorFromProto(req.diff), req.mounts.map(mountFromProto), {
        payloads: payloadsFromProto(req.payloads),
      });
      return { applied: descriptorToProto(applied) };
    }),
    diff: unary(async (req, ctx) => {
      const options: CompareOptions = {
        ...(req.mediaType === "" ? {} : { mediaType: req.mediaType }),
        ...(req.ref === "" ? {} : { ref: req.ref }),
        labels: { ...req.labels },
      };
      const diff = await service.compare(ctx, req.left.map(mountFromProto), req.right.map(mountFromProto), options);
      return { diff: descriptorToProto(diff) };
    }),
  };
  return grpcService(DiffServiceDefinition, impl);
}
