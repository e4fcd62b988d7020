/**
 * The domain types the image operations take and return, re-exported so that client users need no
 * other package for them.
 */
export type { ContentInfo, Descriptor, Digest, Platform } from "@containerts/content";
export type { Image } from "@containerts/images";
