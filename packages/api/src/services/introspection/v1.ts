/**
 * containerd's introspection service (`containerd.services.introspection.v1.Introspection`): plugins and server identity.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  IntrospectionClient,
  IntrospectionService,
  Plugin,
  PluginsRequest,
  PluginsResponse,
  ServerResponse,
} from "../../gen/containerd/services/introspection/v1/introspection.js";
export type {
  IntrospectionServer,
} from "../../gen/containerd/services/introspection/v1/introspection.js";
