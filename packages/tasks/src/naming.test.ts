import { describe, expect, it } from "vitest";
import { shimBinaryName, shimSocketPath } from "./naming.js";

describe("shim naming", () => {
  it("names the binary after the last two parts of the runtime name", () => {
    expect(shimBinaryName("io.containerd.runc.v2")).toBe("containerd-shim-runc-v2");
    expect(shimBinaryName("io.containerts.tsrunc.v1")).toBe("containerd-shim-tsrunc-v1");
    expect(shimBinaryName("runc.v1")).toBe("containerd-shim-runc-v1");
    expect(shimBinaryName("nodots")).toBe("");
    expect(shimBinaryName("")).toBe("");
  });

  it("reads unix:// addresses as paths and anything else as abstract sockets", () => {
    expect(shimSocketPath("unix:///run/containerd/s/abc\n")).toBe("/run/containerd/s/abc");
    expect(shimSocketPath("/containerd-shim/abc.sock")).toBe("\0/containerd-shim/abc.sock");
  });
});
