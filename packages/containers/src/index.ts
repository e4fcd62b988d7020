/**
 * `@containerts/containers`: the container record, the {@link ContainerStore} interface with containerd's
 * error contract, and the pure helpers around it (validation, update masks, filters, the OCI spec Any).
 * No I/O. The store lives in `@containerts/metadata`; the gRPC service in `./grpc`, the client side in
 * `./proxy`, the plugin registrations in `./plugin`.
 *
 * @packageDocumentation
 */
export {
  type AnyValue,
  type Container,
  type ContainerInput,
  type ContainerRuntime,
  type ContainerStore,
  type ContainerStoreSource,
  SPEC_TYPE_URL,
} from "./container.js";
export {
  validateContainer,
  normalizeContainer,
  applyContainerUpdate,
  UPDATE_ALL_PATHS,
} from "./validate.js";
export { adaptContainer, parseContainerFilters } from "./filters.js";
export { readSpec, specAny } from "./spec.js";
export { createContainerService } from "./service.js";
