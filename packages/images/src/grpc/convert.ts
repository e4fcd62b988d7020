/**
 * Conversions between the images service's wire types (`containerd.services.images.v1`,
 * `containerd.types.Descriptor`) and the domain types. The only place that knows wire shapes: sizes
 * are `bigint` on the wire and `number` here, times are `Timestamp` there and `Date` here.
 */
import type { Image as ImagePb } from "@containerts/api/services/images/v1";
import type { Descriptor as DescriptorPb } from "@containerts/api/types";
import { fromTimestamp, toTimestamp } from "@containerts/api";
import type { Descriptor } from "@containerts/content";
import { InvalidArgumentError } from "@containerts/errdefs";

import type { Image, ImageInput } from "../image.js";

/** A domain descriptor on the wire (only the fields the API carries: media type, digest, size, annotations). */
export function descriptorToProto(d: Partial<Descriptor>): DescriptorPb {
  return {
    mediaType: d.mediaType ?? "",
    digest: d.digest ?? "",
    size: BigInt(d.size ?? 0),
    annotations: { ...(d.annotations ?? {}) },
  };
}

/**
 * A wire descriptor as a domain one.
 * @throws InvalidArgumentError when the size does not fit a safe integer.
 */
export function descriptorFromProto(d: DescriptorPb): Descriptor {
  if (d.size > BigInt(Number.MAX_SAFE_INTEGER) || d.size < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new InvalidArgumentError(`descriptor size ${d.size} is out of range`);
  }
  const annotations = d.annotations ?? {};
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: Number(d.size),
    ...(Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
  };
}

/** A domain image on the wire. */
export function imageToProto(image: Image): ImagePb {
  return {
    name: image.name,
    labels: { ...image.labels },
    target: descriptorToProto(image.target),
    createdAt: toTimestamp(image.createdAt),
    updatedAt: toTimestamp(image.updatedAt),
  };
}

/** An image of a Create/Update request as the store's input (timestamps are ignored by stores, but kept). */
export function imageInputFromProto(pb: ImagePb | undefined): ImageInput {
  if (pb === undefined) return { name: "" };
  return {
    name: pb.name,
    labels: { ...pb.labels },
    ...(pb.target !== undefined ? { target: descriptorFromProto(pb.target) } : {}),
    ...(pb.createdAt !== undefined ? { createdAt: fromTimestamp(pb.createdAt).date } : {}),
    ...(pb.updatedAt !== undefined ? { updatedAt: fromTimestamp(pb.updatedAt).date } : {}),
  };
}

/** An image input on the wire (what the proxy sends). */
export function imageInputToProto(image: ImageInput): ImagePb {
  return {
    name: image.name,
    labels: { ...(image.labels ?? {}) },
    target: descriptorToProto(image.target ?? {}),
    createdAt: image.createdAt === undefined ? undefined : toTimestamp(image.createdAt),
    updatedAt: image.updatedAt === undefined ? undefined : toTimestamp(image.updatedAt),
  };
}

/** An image from a response as a domain image; a missing timestamp reads as the epoch. */
export function imageFromProto(pb: ImagePb): Image {
  return {
    name: pb.name,
    labels: { ...pb.labels },
    target: descriptorFromProto(pb.target ?? { mediaType: "", digest: "", size: 0n, annotations: {} }),
    createdAt: pb.createdAt === undefined ? new Date(0) : fromTimestamp(pb.createdAt).date,
    updatedAt: pb.updatedAt === undefined ? new Date(0) : fromTimestamp(pb.updatedAt).date,
  };
}
