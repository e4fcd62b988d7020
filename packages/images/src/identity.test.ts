import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";

import { chainId, chainIds } from "./identity.js";

// Diff IDs of three one-byte layers ("a", "b", "c"), and their chain IDs computed by hand with
// sha256sum: printf '%s %s' "$A" "$B" | sha256sum, and so on.
const A = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const B = "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";
const C = "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6";
const AB = "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676";
const ABC = "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106";

describe("chain IDs", () => {
  it("matches values computed by hand", () => {
    expect(chainIds([A, B, C])).toEqual([A, AB, ABC]);
    expect(chainId([A, B, C])).toBe(ABC);
  });

  it("follows image-spec's own test vector", () => {
    // identity/chainid_test.go: ChainID(A|B) = FromString("sha256:a sha256:b").
    const ab = `sha256:${createHash("sha256").update("sha256:a sha256:b").digest("hex")}`;
    expect(ab).toBe("sha256:970a948bffa8de94d6e22d747ba8c95030e6e546909f98f54e99a13005e173a8");
    const abc = `sha256:${createHash("sha256").update(`${ab} sha256:c`).digest("hex")}`;
    expect(chainIds(["sha256:a", "sha256:b", "sha256:c"])).toEqual(["sha256:a", ab, abc]);
  });

  it("keeps the first layer and the input, and handles no layers", () => {
    const input = [A, B];
    expect(chainIds(input)[0]).toBe(A);
    expect(input).toEqual([A, B]);
    expect(chainIds([A])).toEqual([A]);
    expect(chainIds([])).toEqual([]);
    expect(chainId([])).toBeUndefined();
  });
});
