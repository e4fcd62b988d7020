/**
 * Reading image documents from a content provider with size limits: an index, a manifest or a config
 * is read into memory only when it is within its limit, so a hostile or broken image cannot make the
 * reader buffer an arbitrary amount of data.
 */
import type { Descriptor, Provider } from "@containerts/content";
import type { Context } from "@containerts/namespaces";

import {
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  checkDocumentSize,
  maxConfigSize,
  maxManifestSize,
  parseImageConfig,
  parseIndex,
  parseManifest,
} from "./oci.js";

/**
 * Reads a whole blob of at most `limit` bytes. The descriptor's size is checked first; the read itself
 * stops one byte past the limit, so a descriptor that understates its blob is caught too.
 * @throws FailedPreconditionError `<where>: <n> bytes exceed the <limit>-byte limit`.
 * @throws NotFoundError when the blob is absent.
 */
export async function readLimited(provider: Provider, ctx: Context, desc: Pick<Descriptor, "digest" | "size">, limit: number, where: string): Promise<Uint8Array> {
  checkDocumentSize(desc.size, limit, where);
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of provider.read(ctx, desc.digest, { size: limit + 1 })) {
    chunks.push(chunk);
    length += chunk.byteLength;
    checkDocumentSize(length, limit, where);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Reads and parses the manifest `desc` (OCI or Docker schema 2; the descriptor's media type decides how
 * it is checked).
 * @throws FailedPreconditionError when it is over {@link maxManifestSize}.
 * @throws InvalidArgumentError when it is not a valid manifest (errors name `manifest <digest>`).
 * @throws NotFoundError when it is absent.
 */
export async function readManifest(provider: Provider, ctx: Context, desc: Descriptor): Promise<ImageManifest> {
  const where = `manifest ${desc.digest}`;
  return parseManifest(await readLimited(provider, ctx, desc, maxManifestSize, where), desc.mediaType, where);
}

/**
 * Reads and parses the index or manifest list `desc`.
 * @throws FailedPreconditionError when it is over {@link maxManifestSize}.
 * @throws InvalidArgumentError when it is not a valid index (errors name `index <digest>`).
 * @throws NotFoundError when it is absent.
 */
export async function readIndex(provider: Provider, ctx: Context, desc: Descriptor): Promise<ImageIndex> {
  const where = `index ${desc.digest}`;
  return parseIndex(await readLimited(provider, ctx, desc, maxManifestSize, where), desc.mediaType, where);
}

/**
 * Reads and parses the image config `desc`.
 * @throws FailedPreconditionError when it is over {@link maxConfigSize}.
 * @throws InvalidArgumentError when it is not a valid config (errors name `config <digest>`).
 * @throws NotFoundError when it is absent.
 */
export async function readImageConfig(provider: Provider, ctx: Context, desc: Pick<Descriptor, "digest" | "size">): Promise<ImageConfig> {
  const where = `config ${desc.digest}`;
  return parseImageConfig(await readLimited(provider, ctx, desc, maxConfigSize, where), where);
}
