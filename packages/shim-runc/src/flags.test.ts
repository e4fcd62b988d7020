import { describe, expect, it } from "vitest";
import { parseFlags } from "./flags.js";

describe("parseFlags", () => {
  it("parses containerd's start command line", () => {
    const f = parseFlags(["-namespace", "default", "-address", "/run/containerd/containerd.sock", "-publish-binary", "/usr/bin/containerd", "-id", "t1", "start"]);
    expect(f).toMatchObject({ namespace: "default", address: "/run/containerd/containerd.sock", publishBinary: "/usr/bin/containerd", id: "t1", action: "start", debug: false });
  });

  it("parses the delete command line with -bundle and -debug", () => {
    const f = parseFlags(["-namespace", "ns", "-address", "/a", "-publish-binary", "/p", "-id", "x", "-bundle", "/b/x", "-debug", "delete"]);
    expect(f).toMatchObject({ bundle: "/b/x", debug: true, action: "delete" });
  });

  it("serves when no action is given, and accepts -name=value, --name and -socket", () => {
    const f = parseFlags(["--namespace=ns", "-id=x", "-socket", "/s.sock", "-debug=false"]);
    expect(f).toMatchObject({ namespace: "ns", id: "x", socket: "/s.sock", debug: false, action: "" });
  });

  it("stops at the first positional argument and after --", () => {
    expect(parseFlags(["delete", "-debug"])).toMatchObject({ action: "delete", debug: false, args: ["-debug"] });
    expect(parseFlags(["-v", "--", "-x"])).toMatchObject({ version: true, action: "-x" });
  });

  it("rejects unknown flags, missing values and bad booleans", () => {
    expect(() => parseFlags(["-nope"])).toThrow("flag provided but not defined: -nope");
    expect(() => parseFlags(["-id"])).toThrow("flag needs an argument: -id");
    expect(() => parseFlags(["-debug=maybe"])).toThrow(/invalid boolean value/);
    expect(() => parseFlags(["---id", "x"])).toThrow(/bad flag syntax/);
  });

  it("defaults -publish-binary to containerd", () => {
    expect(parseFlags([]).publishBinary).toBe("containerd");
  });
});
