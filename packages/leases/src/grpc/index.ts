/**
 * `@containerts/leases/grpc`: the Leases gRPC service (`containerd.services.leases.v1.Leases`) as a
 * mechanical adapter over any `LeaseManager`.
 * @module
 */
export { createLeasesServer } from "./server.js";
