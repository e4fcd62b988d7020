/**
 * The leases service layer (containerd's `services/leases/local.go`): the lease manager of the metadata
 * database, with synchronous deletes going through the garbage-collection scheduler.
 */
import type { Context } from "@containerts/namespaces";

import type { DeleteLeaseOptions, Lease, LeaseManager } from "./index.js";

/**
 * What the leases service needs from the garbage-collection scheduler (`io.containerd.gc.v1 scheduler`):
 * trigger a collection and wait until one that started after the call has finished.
 */
export interface GcScheduler {
  scheduleAndWait(signal?: AbortSignal): Promise<unknown>;
}

/**
 * Wraps `manager` as the leases service: every method delegates; `delete` with `sync` deletes the lease
 * and then waits for a collection through `scheduler`, so that whatever only the lease protected is
 * gone when it resolves. Without a scheduler the option is passed to the manager.
 */
export function createLeasesService(manager: LeaseManager, scheduler?: GcScheduler): LeaseManager {
  return {
    create: (ctx, options) => manager.create(ctx, options),
    list: (ctx, filters) => manager.list(ctx, filters),
    addResource: (ctx, lease, resource) => manager.addResource(ctx, lease, resource),
    deleteResource: (ctx, lease, resource) => manager.deleteResource(ctx, lease, resource),
    listResources: (ctx, lease) => manager.listResources(ctx, lease),
    delete: async (ctx: Context, lease: Pick<Lease, "id">, options: DeleteLeaseOptions = {}) => {
      if (scheduler === undefined) return manager.delete(ctx, lease, options);
      await manager.delete(ctx, lease);
      if (options.sync === true) await scheduler.scheduleAndWait(ctx.signal);
    },
  };
}
