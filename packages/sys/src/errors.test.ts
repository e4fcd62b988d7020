import { isInvalidArgument, isNotFound, normalize } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";
import { SysError, cString, describeErrno, isSysError } from "./errors.js";

describe("SysError", () => {
  it("reads like Node's system errors", () => {
    const err = new SysError(1, "mount", { path: "/run/x" });
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe("EPERM: operation not permitted, mount '/run/x'");
    expect(err).toMatchObject({ name: "SysError", code: "EPERM", errno: 1, syscall: "mount", path: "/run/x" });
    expect(Object.hasOwn(err, "dest")).toBe(false);
    expect(new SysError(2, "rename", { path: "/a", dest: "/b" }).message).toBe(
      "ENOENT: no such file or directory, rename '/a' -> '/b'",
    );
    expect(new SysError(9, "close").message).toBe("EBADF: bad file descriptor, close");
  });

  it("names codes libuv does not know", () => {
    expect(describeErrno(10)).toStrictEqual(["ECHILD", "no child processes"]);
    expect(describeErrno(61)).toStrictEqual(["ENODATA", "no data available"]);
    expect(describeErrno(99999)[0]).toBe("E99999");
  });

  it("is recognised by isSysError and by errdefs' normalize through its code", () => {
    const err = new SysError(2, "mount", { path: "/x" });
    expect(isSysError(err)).toBe(true);
    expect(isSysError(err, "ENOENT")).toBe(true);
    expect(isSysError(err, "EPERM")).toBe(false);
    expect(isSysError(new Error("x"))).toBe(false);
    expect(isNotFound(normalize(err))).toBe(true);
  });

  it("refuses C strings with NUL bytes", () => {
    expect(cString("/ok", "path")).toBe("/ok");
    let caught: unknown;
    try {
      cString("/a\0b", "path");
    } catch (err) {
      caught = err;
    }
    expect(isInvalidArgument(caught)).toBe(true);
  });
});
