import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from "./messages.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("Request", () => {
  it("round-trips every field, with repeated metadata keys", () => {
    const req = {
      service: "containerd.task.v2.Task",
      method: "State",
      payload: Uint8Array.from([0x0a, 0x02, 0x74, 0x32]),
      timeoutNano: 2_000_000_000,
      metadata: [
        { key: "containerd-namespace-ttrpc", value: "default" },
        { key: "x", value: "1" },
        { key: "x", value: "2" },
      ],
    };
    expect(decodeRequest(encodeRequest(req))).toEqual(req);
  });

  it("omits default fields, as Go's proto3 encoder does", () => {
    const b = encodeRequest({ service: "s", method: "m", payload: new Uint8Array(0), timeoutNano: 0, metadata: [] });
    expect(hex(b)).toBe("0a0173" + "12016d");
  });

  it("encodes timeout_nano as an int64 varint (field 4)", () => {
    const b = encodeRequest({ service: "", method: "", payload: new Uint8Array(0), timeoutNano: 2e9, metadata: [] });
    expect(hex(b)).toBe("20" + "80a8d6b907");
  });

  it("decodes what a Go client sends and skips unknown fields", () => {
    const w = new BinaryWriter();
    w.tag(1, WireType.LengthDelimited).string("svc");
    w.tag(9, WireType.Varint).uint32(5); // unknown field
    w.tag(2, WireType.LengthDelimited).string("M");
    w.tag(4, WireType.Varint).int64(-5n);
    const r = decodeRequest(w.finish());
    expect(r).toEqual({ service: "svc", method: "M", payload: new Uint8Array(0), timeoutNano: -5, metadata: [] });
  });

  it("rejects truncated input and wrong wire types", () => {
    const good = encodeRequest({ service: "svc", method: "M", payload: new Uint8Array(0), timeoutNano: 0, metadata: [] });
    expect(() => decodeRequest(good.subarray(0, good.length - 1))).toThrow();
    const w = new BinaryWriter();
    w.tag(1, WireType.Varint).uint32(1);
    expect(() => decodeRequest(w.finish())).toThrow(/wrong wireType/);
  });
});

describe("Response", () => {
  it("encodes success as payload only, and an empty result as zero bytes", () => {
    const payload = Uint8Array.from([0x08, 0x81, 0x80, 0x01, 0x10, 0x97, 0x80, 0x01]);
    expect(hex(encodeResponse({ payload }))).toBe("1208" + hex(payload));
    expect(encodeResponse({ payload: new Uint8Array(0) })).toHaveLength(0);
    expect(encodeResponse({ status: { code: 0, message: "" }, payload: new Uint8Array(0) })).toHaveLength(0);
  });

  it("encodes an error status exactly as the runc shim does", () => {
    const message = "container not created: not found";
    const b = encodeResponse({ status: { code: 5, message }, payload: new Uint8Array(0) });
    expect(hex(b)).toBe("0a24" + "0805" + "1220" + Buffer.from(message).toString("hex"));
    expect(decodeResponse(b)).toEqual({ status: { code: 5, message, details: [] }, payload: new Uint8Array(0) });
  });

  it("decodes a response without status as success", () => {
    expect(decodeResponse(new Uint8Array(0))).toEqual({ payload: new Uint8Array(0) });
  });
});
