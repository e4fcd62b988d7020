/**
 * Layer chain identity (image-spec's `identity` package): the chain ID of a stack of layers names the
 * snapshot that results from applying them in order, which is how unpacked images are found again.
 */
import type { Digest } from "@containerts/content";
import { digestOf } from "@containerts/content";

/**
 * The chain IDs of a list of diff IDs, bottom layer first (image-spec's `identity.ChainIDs`):
 * `chain[0] = diffIds[0]` and `chain[i] = sha256(chain[i-1] + " " + diffIds[i])`. The parent snapshot
 * of layer `i` is `chain[i-1]`. The input is not modified.
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const [i, d] of diffIds.entries()) {
    out.push(i === 0 ? d : digestOf(`${out[i - 1]!} ${d}`));
  }
  return out;
}

/**
 * The chain ID of the whole stack: the last of {@link chainIds}, or `undefined` for no layers
 * (image-spec's `identity.ChainID` returns `""` there).
 */
export function chainId(diffIds: readonly Digest[]): Digest | undefined {
  return chainIds(diffIds).at(-1);
}
