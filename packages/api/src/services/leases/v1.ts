/**
 * containerd's leases service (`containerd.services.leases.v1.Leases`).
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  AddResourceRequest,
  CreateRequest,
  CreateResponse,
  DeleteRequest,
  DeleteResourceRequest,
  Lease,
  LeasesClient,
  LeasesService,
  ListRequest,
  ListResourcesRequest,
  ListResourcesResponse,
  ListResponse,
  Resource,
} from "../../gen/containerd/services/leases/v1/leases.js";
export type {
  LeasesServer,
} from "../../gen/containerd/services/leases/v1/leases.js";
