/**
 * gRPC adapters: `containerd.services.introspection.v1.Introspection`, `containerd.services.version.v1.Version`
 * and `grpc.health.v1.Health`.
 * @module
 */
import { IntrospectionService as IntrospectionDef, type IntrospectionServer, type Plugin } from "@containerts/api/services/introspection/v1";
import { VersionService as VersionDef, type VersionServer } from "@containerts/api/services/version/v1";
import { HealthService as HealthDef, HealthCheckResponse_ServingStatus, type HealthServer } from "@containerts/api/health/v1";
import { grpcService, serverStream, unary, type GrpcServicePlugin } from "@containerts/namespaces/grpc";
import { NotFoundError } from "@containerts/errdefs";
import type { IntrospectionService, PluginInfo, VersionService } from "../index.js";

/** Converts a plugin to its wire form. */
export function pluginToProto(p: PluginInfo): Plugin {
  return {
    type: p.type,
    id: p.id,
    requires: [...p.requires],
    platforms: p.platforms.map((x) => ({ os: x.os, architecture: x.architecture, variant: x.variant ?? "" })),
    exports: { ...p.exports },
    capabilities: [...p.capabilities],
    initErr: p.initError ? { code: p.initError.code, message: p.initError.message, details: [] } : undefined,
  };
}

/** The Introspection service over an {@link IntrospectionService}. */
export function createIntrospectionServer(svc: IntrospectionService): GrpcServicePlugin {
  const impl: IntrospectionServer = {
    plugins: unary(async (req, ctx) => ({ plugins: (await svc.plugins(ctx, req.filters)).map(pluginToProto) })),
    server: unary(async (_req, ctx) => ({ uuid: (await svc.server(ctx)).uuid })),
  };
  return grpcService(IntrospectionDef, impl);
}

/** The Version service over a {@link VersionService}. */
export function createVersionServer(svc: VersionService): GrpcServicePlugin {
  const impl: VersionServer = {
    version: unary(async (_req, ctx) => svc.version(ctx)),
  };
  return grpcService(VersionDef, impl);
}

/**
 * The gRPC health service as grpc-go's default health server answers it: the overall service `""` is
 * SERVING; an unknown service name is NOT_FOUND. Watch sends the current status and stays open.
 */
export function createHealthServer(services: readonly string[] = []): GrpcServicePlugin {
  const known = new Set(["", ...services]);
  const status = (service: string) => {
    if (!known.has(service)) throw new NotFoundError(`unknown service ${service}`, { bare: true });
    return HealthCheckResponse_ServingStatus.SERVING;
  };
  const impl: HealthServer = {
    check: unary(async (req) => ({ status: status(req.service) })),
    watch: serverStream(async (req, ctx, send) => {
      const st = known.has(req.service) ? HealthCheckResponse_ServingStatus.SERVING : HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN;
      await send({ status: st });
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }),
  };
  return grpcService(HealthDef, impl);
}
