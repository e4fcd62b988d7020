/**
 * containerd's namespaces service (`containerd.services.namespaces.v1.Namespaces`).
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  CreateNamespaceRequest,
  CreateNamespaceResponse,
  DeleteNamespaceRequest,
  GetNamespaceRequest,
  GetNamespaceResponse,
  ListNamespacesRequest,
  ListNamespacesResponse,
  Namespace,
  NamespacesClient,
  NamespacesService,
  UpdateNamespaceRequest,
  UpdateNamespaceResponse,
} from "../../gen/containerd/services/namespaces/v1/namespace.js";
export type {
  NamespacesServer,
} from "../../gen/containerd/services/namespaces/v1/namespace.js";
