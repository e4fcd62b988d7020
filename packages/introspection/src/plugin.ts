/**
 * Plugin registrations of introspection, version and health.
 * @module
 */
import { join } from "node:path";
import { PluginType, ServiceId, type AnyRegistration, type Registration } from "@containerts/plugin-registry";
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import type { IntrospectionService, VersionInfo } from "./index.js";
import { createIntrospectionService, createVersionService } from "./local/index.js";
import { createHealthServer, createIntrospectionServer, createVersionServer } from "./grpc/index.js";

/** The registrations: introspection service and its gRPC adapter, version, health. */
export function introspectionPlugins(version: VersionInfo): readonly AnyRegistration[] {
  const service: Registration<IntrospectionService> = {
    type: PluginType.Service,
    id: ServiceId.IntrospectionService,
    init: async (ic) =>
      createIntrospectionService({
        plugins: () => ic.plugins(),
        uuidPath: join(ic.properties.root, `${PluginType.GRPC}.introspection`, "uuid"),
      }),
  };
  const grpc: Registration<GrpcServicePlugin> = {
    type: PluginType.GRPC,
    id: "introspection",
    requires: [PluginType.Service],
    init: async (ic) => createIntrospectionServer(ic.getById<IntrospectionService>(PluginType.Service, ServiceId.IntrospectionService)),
  };
  const versionPlugin: Registration<GrpcServicePlugin> = {
    type: PluginType.GRPC,
    id: "version",
    init: async () => createVersionServer(createVersionService(version)),
  };
  const health: Registration<GrpcServicePlugin> = {
    type: PluginType.GRPC,
    id: "healthcheck",
    init: async () => createHealthServer(),
  };
  return [service, grpc, versionPlugin, health];
}
