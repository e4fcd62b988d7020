/**
 * containerd's containers service (`containerd.services.containers.v1.Containers`): container metadata records.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  Container,
  Container_Runtime,
  ContainersClient,
  ContainersService,
  CreateContainerRequest,
  CreateContainerResponse,
  DeleteContainerRequest,
  GetContainerRequest,
  GetContainerResponse,
  ListContainerMessage,
  ListContainersRequest,
  ListContainersResponse,
  UpdateContainerRequest,
  UpdateContainerResponse,
} from "../../gen/containerd/services/containers/v1/containers.js";
export type {
  ContainersServer,
} from "../../gen/containerd/services/containers/v1/containers.js";
