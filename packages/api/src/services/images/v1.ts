/**
 * containerd's images service (`containerd.services.images.v1.Images`) and the image events of the same package.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  CreateImageRequest,
  CreateImageResponse,
  DeleteImageRequest,
  GetImageRequest,
  GetImageResponse,
  Image,
  ImagesClient,
  ImagesService,
  ListImagesRequest,
  ListImagesResponse,
  UpdateImageRequest,
  UpdateImageResponse,
} from "../../gen/containerd/services/images/v1/images.js";
export type {
  ImagesServer,
} from "../../gen/containerd/services/images/v1/images.js";
export {
  ImageCreate,
  ImageDelete,
  ImageUpdate,
} from "../../gen/containerd/services/images/v1/events.js";
