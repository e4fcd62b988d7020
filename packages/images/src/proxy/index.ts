/**
 * `@containerts/images/proxy`: the image store over the daemon's Images service
 * (`containerd.services.images.v1.Images`), as containerd's `remoteImages`.
 * @module
 */
import { ImagesClient } from "@containerts/api/services/images/v1";
import { NotFoundError } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { callUnary } from "@containerts/namespaces/grpc";
import type { ProxyTarget } from "@containerts/namespaces/proxy";

import type { DeleteImageOptions, Image, ImageInput, ImageStore } from "../image.js";
import { imageFromProto, imageInputToProto } from "../grpc/convert.js";

export type { ProxyTarget } from "@containerts/namespaces/proxy";

/**
 * {@link ImageStore} implemented over gRPC. Errors come back as containerts errors of the kind the server
 * sent (NotFound, AlreadyExists, InvalidArgument, …), with the server's message.
 */
export class ProxyImageStore implements ImageStore {
  readonly #c: ImagesClient;

  constructor(target: ProxyTarget) {
    this.#c = new ImagesClient(target.address, target.credentials, target.options);
  }

  async get(ctx: Context, name: string): Promise<Image> {
    const res = await callUnary(this.#c.get.bind(this.#c), { name }, ctx);
    if (res.image === undefined) throw new NotFoundError(`image ${JSON.stringify(name)}`);
    return imageFromProto(res.image);
  }

  async list(ctx: Context, filters: readonly string[] = []): Promise<Image[]> {
    const res = await callUnary(this.#c.list.bind(this.#c), { filters: [...filters] }, ctx);
    return res.images.map(imageFromProto);
  }

  async create(ctx: Context, image: ImageInput): Promise<Image> {
    const res = await callUnary(this.#c.create.bind(this.#c), { image: imageInputToProto(image) }, ctx);
    return res.image === undefined ? this.get(ctx, image.name) : imageFromProto(res.image);
  }

  async update(ctx: Context, image: ImageInput, fieldpaths: readonly string[] = []): Promise<Image> {
    const res = await callUnary(
      this.#c.update.bind(this.#c),
      { image: imageInputToProto(image), updateMask: fieldpaths.length > 0 ? [...fieldpaths] : undefined },
      ctx,
    );
    return res.image === undefined ? this.get(ctx, image.name) : imageFromProto(res.image);
  }

  async delete(ctx: Context, name: string, options: DeleteImageOptions = {}): Promise<void> {
    await callUnary(this.#c.delete.bind(this.#c), { name, sync: options.sync ?? false }, ctx);
  }

  /** Closes the client (not the shared channel, when one was passed in the target's options). */
  close(): void {
    this.#c.close();
  }
}
