/**
 * The Leases gRPC service (`containerd.services.leases.v1.Leases`) over a {@link LeaseManager}: a
 * mechanical adapter (containerd's `services/leases/service.go`).
 */
import { LeasesService, type LeasesServer } from "@containerts/api/services/leases/v1";
import { grpcService, unary, type GrpcServicePlugin } from "@containerts/namespaces/grpc";

import type { LeaseManager } from "../index.js";
import { leaseToProto, resourceFromProto, resourceToProto } from "./convert.js";

/**
 * Creates the Leases gRPC service over `manager` (in the daemon: the leases service, whose `delete`
 * with `sync` waits for a garbage collection). An empty id in `Create` asks for a generated one.
 */
export function createLeasesServer(manager: LeaseManager): GrpcServicePlugin {
  const impl: LeasesServer = {
    create: unary(async (req, ctx) => ({
      lease: leaseToProto(await manager.create(ctx, { ...(req.id === "" ? {} : { id: req.id }), labels: req.labels })),
    })),
    delete: unary(async (req, ctx) => {
      await manager.delete(ctx, { id: req.id }, { sync: req.sync });
      return {};
    }),
    list: unary(async (req, ctx) => ({ leases: (await manager.list(ctx, req.filters)).map(leaseToProto) })),
    addResource: unary(async (req, ctx) => {
      await manager.addResource(ctx, { id: req.id }, resourceFromProto(req.resource));
      return {};
    }),
    deleteResource: unary(async (req, ctx) => {
      await manager.deleteResource(ctx, { id: req.id }, resourceFromProto(req.resource));
      return {};
    }),
    listResources: unary(async (req, ctx) => ({
      resources: (await manager.listResources(ctx, { id: req.id })).map(resourceToProto),
    })),
  };
  return grpcService(LeasesService, impl);
}
