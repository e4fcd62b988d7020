/**
 * The gRPC health-checking protocol (`grpc.health.v1.Health`).
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  healthCheckResponse_ServingStatusFromJSON,
  healthCheckResponse_ServingStatusToJSON,
  HealthClient,
  HealthService,
} from "../gen/grpc/health/v1/health.js";
export type {
  HealthServer,
} from "../gen/grpc/health/v1/health.js";
