import { kindOf } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";

import { SPEC_TYPE_URL } from "./container.js";
import { readSpec, specAny } from "./spec.js";

describe("spec helpers", () => {
  it("round-trips a spec through its Any", () => {
    const spec = { ociVersion: "1.0.2-dev", process: { args: ["sh"] } };
    const any = specAny(spec);
    expect(any.typeUrl).toBe(SPEC_TYPE_URL);
    expect(new TextDecoder().decode(any.value)).toBe(JSON.stringify(spec));
    expect(readSpec({ id: "c", spec: any })).toEqual(spec);
  });

  it("reports a missing spec, another type and bad JSON", () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as Error;
      }
      throw new Error("expected an error");
    };
    const missing = err(() => readSpec({ id: "c" }));
    expect(kindOf(missing)).toBe("NotFound");
    expect(missing.message).toBe('spec of container "c": not found');
    expect(kindOf(err(() => readSpec({ id: "c", spec: { typeUrl: "x", value: new Uint8Array() } })))).toBe("InvalidArgument");
    const bad = { typeUrl: SPEC_TYPE_URL, value: new TextEncoder().encode("{not json") };
    expect(err(() => readSpec({ id: "c", spec: bad })).message).toBe('spec of container "c" is not valid JSON: invalid argument');
    const arr = { typeUrl: SPEC_TYPE_URL, value: new TextEncoder().encode("[]") };
    expect(kindOf(err(() => readSpec({ id: "c", spec: arr })))).toBe("InvalidArgument");
  });
});
