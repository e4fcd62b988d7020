/**
 * `@containerts/leases/plugin`: the leases service (`io.containerd.service.v1 leases-service`, the
 * metadata database's lease manager with synchronous deletes through the GC scheduler) and its gRPC
 * adapter (`io.containerd.grpc.v1 leases`).
 * @module
 */
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import { PluginType, ServiceId, checkInstance, type AnyRegistration, type Registration } from "@containerts/plugin-registry";

import { createLeasesServer } from "../grpc/server.js";
import type { LeaseManager } from "../index.js";
import { createLeasesService, type GcScheduler } from "../service.js";

export { createLeasesService, type GcScheduler } from "../service.js";

/** What the leases service needs from the metadata plugin: a lease manager. */
export interface LeaseManagerSource {
  leaseManager(): LeaseManager;
}

/** The lease manager of the metadata plugin's instance. */
export function leaseManagerOf(instance: unknown): LeaseManager {
  return checkInstance<LeaseManagerSource>(instance, ["leaseManager"], "metadata plugin").leaseManager();
}

const service: Registration<LeaseManager> = {
  type: PluginType.Service,
  id: ServiceId.LeasesService,
  requires: [PluginType.Metadata, PluginType.GC],
  init: async (ic) => {
    const manager = leaseManagerOf(ic.getSingle(PluginType.Metadata));
    const scheduler = checkInstance<GcScheduler>(ic.getSingle(PluginType.GC), ["scheduleAndWait"], `${PluginType.GC} plugin`);
    return createLeasesService(manager, scheduler);
  },
};

const grpc: Registration<GrpcServicePlugin> = {
  type: PluginType.GRPC,
  id: "leases",
  requires: [PluginType.Service],
  init: async (ic) => createLeasesServer(ic.getById<LeaseManager>(PluginType.Service, ServiceId.LeasesService)),
};

/** The leases service and its gRPC adapter, in registration order. */
export const leasesPlugins: readonly AnyRegistration[] = [service, grpc];
