import { Container as PbContainer } from "@containerts/api/services/containers/v1";
import { describe, expect, it } from "vitest";

import type { Container } from "../container.js";
import { specAny } from "../spec.js";
import { containerFromProto, containerInputFromProto, containerInputToProto, containerToProto } from "./convert.js";

const c: Container = {
  id: "c1",
  labels: { a: "1" },
  image: "img",
  runtime: { name: "io.containerd.runc.v2", options: { typeUrl: "containerd.runc.v1.Options", value: new Uint8Array() } },
  spec: specAny({ ociVersion: "1.0.2-dev" }),
  snapshotter: "overlayfs",
  snapshotKey: "c1",
  createdAt: new Date("2026-11-28T11:57:56.397Z"),
  updatedAt: new Date("2026-11-28T11:57:57.001Z"),
  extensions: { e: { typeUrl: "t", value: new Uint8Array([1, 2]) } },
};

describe("container conversions", () => {
  it("round-trips a container through the wire encoding", () => {
    const bytes = PbContainer.encode(containerToProto(c)).finish();
    const back = containerFromProto(PbContainer.decode(bytes));
    expect(back).toEqual(c);
    expect(back.spec?.value).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(back.spec?.value)).toBe(false);
  });

  it("reads absent fields as Go's zero values", () => {
    const z = containerFromProto(PbContainer.decode(PbContainer.encode(PbContainer.fromPartial({ id: "z" })).finish()));
    expect(z).toEqual({
      id: "z",
      labels: {},
      image: "",
      runtime: { name: "" },
      snapshotter: "",
      snapshotKey: "",
      createdAt: new Date("0001-01-01T00:00:00Z"),
      updatedAt: new Date("0001-01-01T00:00:00Z"),
      extensions: {},
    });
    expect(containerFromProto(undefined).id).toBe("");
  });

  it("sends inputs without times and keeps a missing spec missing", () => {
    const pb = containerInputToProto({ id: "x", runtime: { name: "r" } });
    expect(pb.createdAt).toBeUndefined();
    expect(pb.spec).toBeUndefined();
    const input = containerInputFromProto(PbContainer.decode(PbContainer.encode(pb).finish()));
    expect(input).not.toHaveProperty("spec");
    expect(input).not.toHaveProperty("createdAt");
    expect(input.runtime).toEqual({ name: "r" });
  });
});
