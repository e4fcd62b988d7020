/**
 * Content digests in go-digest's `algorithm:encoded` form, and the helpers that validate and compute them.
 *
 * A digest is kept as a plain string (not a branded type) so that values read from the wire, from
 * level keys or from JSON flow through without casts; every entry point that accepts a digest from
 * outside validates it with {@link parseDigest}.
 */
import { createHash } from "node:crypto";

import { InvalidArgumentError } from "@containerts/errdefs";

/** A content digest, `algorithm:hex` (for example `sha256:e3b0…`). Validate untrusted values with {@link parseDigest}. */
export type Digest = string;

/** The digest algorithms go-digest registers by default, with the length of their hex encoding. */
export const digestAlgorithms = {
  sha256: 64,
  sha384: 96,
  sha512: 128,
} as const satisfies Readonly<Record<string, number>>;

/** A digest algorithm known to {@link parseDigest}. */
export type DigestAlgorithm = keyof typeof digestAlgorithms;

/** The algorithm containerd uses for everything it computes itself. */
export const canonicalAlgorithm: DigestAlgorithm = "sha256";

/** The sha256 digest of zero bytes (what a fresh writer reports). */
export const emptyDigest: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const encodedPattern = /^[a-f0-9]+$/;
const algorithmPattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/;

/** A digest split into its parts. */
export interface ParsedDigest {
  /** The algorithm, e.g. `sha256`. */
  readonly algorithm: DigestAlgorithm;
  /** The lower-case hex encoding. */
  readonly encoded: string;
  /** The whole digest string, unchanged. */
  readonly digest: Digest;
}

/**
 * Validates a digest the way go-digest's `Digest.Validate` does and returns its parts.
 *
 * Accepted: `sha256:` + 64, `sha384:` + 96 or `sha512:` + 128 lower-case hex characters.
 *
 * @throws InvalidArgumentError `"<d>" failed validation` for anything else (the wording of
 *   containerd's content service).
 */
export function parseDigest(s: string): ParsedDigest {
  const i = s.indexOf(":");
  if (i > 0 && i < s.length - 1) {
    const algorithm = s.slice(0, i);
    const encoded = s.slice(i + 1);
    if (algorithmPattern.test(algorithm) && Object.hasOwn(digestAlgorithms, algorithm)) {
      const want = digestAlgorithms[algorithm as DigestAlgorithm];
      if (encoded.length === want && encodedPattern.test(encoded)) {
        return { algorithm: algorithm as DigestAlgorithm, encoded, digest: s };
      }
    }
  }
  throw new InvalidArgumentError(`${JSON.stringify(s)} failed validation`);
}

/** True when `s` is a valid digest (see {@link parseDigest}). */
export function isDigest(s: string): boolean {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** The digest of `bytes` with the given algorithm (sha256 by default). */
export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = canonicalAlgorithm): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}
