import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RUNTIME_NAME, SHIM_BINARY, shimBinaryPath } from "./index.js";

describe("package entry", () => {
  it("names the runtime and its binary by containerd's rule", () => {
    expect(RUNTIME_NAME).toBe("io.containerts.tsrunc.v1");
    const parts = RUNTIME_NAME.split(".");
    expect(SHIM_BINARY).toBe(`containerd-shim-${parts.at(-2)}-${parts.at(-1)}`);
    expect(shimBinaryPath().endsWith(`/bin/${SHIM_BINARY}`)).toBe(true);
    expect(existsSync(shimBinaryPath())).toBe(true);
  });
});
