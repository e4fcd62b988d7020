import { describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  InvalidArgumentError,
  isNotFound,
  isAlreadyExists,
  kindOf,
  normalize,
  withContext,
} from "./index.js";
import { fromGrpcError, toGrpcStatus } from "./grpc.js";

describe("errdefs", () => {
  it("builds messages as a chain ending with the kind phrase", () => {
    expect(new NotFoundError("content digest sha256:abc").message).toBe("content digest sha256:abc: not found");
    expect(new AlreadyExistsError('lease "x"').message).toBe('lease "x": already exists');
  });

  it("guards by brand, not instanceof", () => {
    const foreign = { [Symbol.for("containerts.errdefs.kind")]: "NotFound", message: "x" };
    expect(isNotFound(foreign)).toBe(true);
    expect(isNotFound(new AlreadyExistsError("y"))).toBe(false);
    expect(isAlreadyExists(new AlreadyExistsError("y"))).toBe(true);
  });

  it("keeps the kind through withContext", () => {
    const e = withContext(new NotFoundError("blob"), "info");
    expect(kindOf(e)).toBe("NotFound");
    expect(e.message).toBe("info: blob: not found");
  });

  it("normalizes foreign errors", () => {
    const abort = new DOMException("aborted", "AbortError");
    expect(kindOf(normalize(abort))).toBe("Canceled");
    expect(kindOf(normalize(Object.assign(new Error("no such file"), { code: "ENOENT" })))).toBe("NotFound");
    expect(kindOf(normalize(new Error("boom")))).toBe("Unknown");
    expect(kindOf(normalize("str"))).toBe("Unknown");
  });

  it("maps to gRPC codes like errgrpc.ToGRPC", () => {
    expect(toGrpcStatus(new NotFoundError("x")).code).toBe(status.NOT_FOUND);
    expect(toGrpcStatus(new ConflictError("x")).code).toBe(status.FAILED_PRECONDITION);
    expect(toGrpcStatus(new InvalidArgumentError("bad")).details).toBe("bad: invalid argument");
    expect(toGrpcStatus(new Error("plain")).code).toBe(status.UNKNOWN);
  });

  it("maps gRPC errors back to kinds", () => {
    const e = fromGrpcError({ code: status.ALREADY_EXISTS, details: "content sha256:x: already exists" });
    expect(isAlreadyExists(e)).toBe(true);
    expect(e.message).toBe("content sha256:x: already exists");
    expect(kindOf(fromGrpcError({ code: 99, details: "odd" }))).toBe("Unknown");
  });
});
