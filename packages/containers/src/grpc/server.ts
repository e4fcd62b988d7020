/**
 * The Containers gRPC service (`containerd.services.containers.v1.Containers`) over a
 * {@link ContainerStore}: parse, call, convert; errors become gRPC statuses in the shared wrappers.
 */
import { ContainersService, type ContainersServer, type ListContainerMessage } from "@containerts/api/services/containers/v1";
import { InvalidArgumentError } from "@containerts/errdefs";
import { grpcService, serverStream, unary, type GrpcServicePlugin } from "@containerts/namespaces/grpc";
import type { ContainerStore } from "../container.js";
import { containerInputFromProto, containerToProto } from "./convert.js";

/**
 * Builds the Containers gRPC service over `service` (the containers service, which publishes the events).
 * ListStream sends one `ListContainerMessage` per container; Update without a container id answers
 * InvalidArgument `Container.ID required`, as containerd does.
 */
export function createContainersServer(service: ContainerStore): GrpcServicePlugin {
  const impl: ContainersServer = {
    get: unary(async (req, ctx) => ({ container: containerToProto(await service.get(ctx, req.id)) })),

    list: unary(async (req, ctx) => ({ containers: (await service.list(ctx, req.filters)).map(containerToProto) })),

    listStream: serverStream<{ filters: string[] }, ListContainerMessage>(async (req, ctx, send) => {
      for (const c of await service.list(ctx, req.filters)) await send({ container: containerToProto(c) });
    }),

    create: unary(async (req, ctx) => ({
      container: containerToProto(await service.create(ctx, containerInputFromProto(req.container))),
    })),

    update: unary(async (req, ctx) => {
      const input = containerInputFromProto(req.container);
      if (input.id === "") throw new InvalidArgumentError("Container.ID required", { bare: true });
      return { container: containerToProto(await service.update(ctx, input, req.updateMask ?? [])) };
    }),

    delete: unary(async (req, ctx) => {
      await service.delete(ctx, req.id);
      return {};
    }),
  };
  return grpcService(ContainersService, impl);
}

