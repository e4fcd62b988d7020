import { NamespacesService as NamespacesDef, type NamespacesServer } from "@containerts/api/services/namespaces/v1";
import { validateIdentifier } from "../identifiers.js";
import { validateLabels } from "../labels.js";
import type { NamespaceStore } from "../store.js";
import { grpcService, unary, type GrpcServicePlugin } from "./call.js";

/**
 * The Namespaces gRPC service over a {@link NamespaceStore}, answering as containerd 1.6 does: Get never
 * fails with NotFound, Update answers an empty response, Delete of a non-empty namespace is
 * FAILED_PRECONDITION.
 */
export function createNamespacesServer(store: NamespaceStore): GrpcServicePlugin {
  const impl: NamespacesServer = {
    get: unary(async (req, ctx) => {
      const ns = await store.get(ctx, req.name);
      return { namespace: { name: ns.name, labels: { ...ns.labels } } };
    }),
    list: unary(async (_req, ctx) => ({
      namespaces: (await store.list(ctx)).map((n) => ({ name: n.name, labels: { ...n.labels } })),
    })),
    create: unary(async (req, ctx) => {
      const name = req.namespace?.name ?? "";
      const labels = req.namespace?.labels ?? {};
      validateIdentifier(name);
      validateLabels(labels);
      const ns = await store.create(ctx, name, labels);
      return { namespace: { name: ns.name, labels: { ...ns.labels } } };
    }),
    update: unary(async (req, ctx) => {
      const name = req.namespace?.name ?? "";
      validateIdentifier(name);
      const paths = req.updateMask;
      await store.update(ctx, { name, labels: req.namespace?.labels ?? {} }, paths && paths.length > 0 ? paths : undefined);
      return { namespace: undefined };
    }),
    delete: unary(async (req, ctx) => {
      await store.delete(ctx, req.name);
      return {};
    }),
  };
  return grpcService(NamespacesDef, impl);
}
