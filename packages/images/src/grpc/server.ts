import { ImagesService, type ImagesServer } from "@containerts/api/services/images/v1";
import { type GrpcServicePlugin, grpcService, unary } from "@containerts/namespaces/grpc";

import { type ImageStore, validateImageName } from "../image.js";
import { imageInputFromProto, imageToProto } from "./convert.js";

/**
 * The Images gRPC service (`containerd.services.images.v1.Images`) over an {@link ImageStore} (normally
 * the images service layer, which publishes events): parse, call, convert. `Get` always sets `image`;
 * Create and Update refuse an empty name with INVALID_ARGUMENT `Image.Name required`; an empty update
 * mask means "no mask".
 */
export function createImagesServer(store: ImageStore): GrpcServicePlugin {
  const impl: ImagesServer = {
    get: unary(async (req, ctx) => ({ image: imageToProto(await store.get(ctx, req.name)) })),
    list: unary(async (req, ctx) => ({ images: (await store.list(ctx, req.filters)).map(imageToProto) })),
    create: unary(async (req, ctx) => {
      validateImageName(req.image?.name);
      return { image: imageToProto(await store.create(ctx, imageInputFromProto(req.image))) };
    }),
    update: unary(async (req, ctx) => {
      validateImageName(req.image?.name);
      const paths = req.updateMask !== undefined && req.updateMask.length > 0 ? req.updateMask : undefined;
      return { image: imageToProto(await store.update(ctx, imageInputFromProto(req.image), paths)) };
    }),
    delete: unary(async (req, ctx) => {
      await store.delete(ctx, req.name, { sync: req.sync });
      return {};
    }),
  };
  return grpcService(ImagesService, impl);
}
