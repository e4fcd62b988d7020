import { kindOf } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";
import { SkipPluginError, isSkipPlugin } from "./skip.js";

describe("SkipPluginError", () => {
  it('says "skip plugin" after its reason, as containerd wraps ErrSkipPlugin', () => {
    const err = new SkipPluginError("no aufs support");
    expect(err.message).toBe("no aufs support: skip plugin");
    expect(err.reason).toBe("no aufs support");
    expect(err.name).toBe("SkipPluginError");
    expect(new SkipPluginError().message).toBe("skip plugin");
    expect(kindOf(err)).toBe("Unknown");
  });

  it("is told apart from other errors by brand, also for a copy from another package instance", () => {
    expect(isSkipPlugin(new SkipPluginError())).toBe(true);
    expect(isSkipPlugin(new Error("skip plugin"))).toBe(false);
    expect(isSkipPlugin(undefined)).toBe(false);
    const foreign = Object.assign(new Error("x: skip plugin"), {
      [Symbol.for("containerts.plugin-registry.skip")]: true,
    });
    expect(isSkipPlugin(foreign)).toBe(true);
  });

  it("keeps its cause", () => {
    const cause = new Error("statfs failed");
    expect(new SkipPluginError("not btrfs", { cause }).cause).toBe(cause);
  });
});
