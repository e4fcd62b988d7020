import { isInvalidArgument } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";
import { validateIdentifier } from "./identifiers.js";

function message(s: string): string | undefined {
  try {
    validateIdentifier(s);
    return undefined;
  } catch (err) {
    expect(isInvalidArgument(err)).toBe(true);
    return (err as Error).message;
  }
}

const PATTERN = "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$";

// containerd's identifiers/validate_test.go
describe("validateIdentifier", () => {
  it("accepts valid identifiers", () => {
    for (const id of [
      "default",
      "Default",
      "TestValidIdentifiers",
      "default-default",
      "containerd.io",
      "foo.boo",
      "swarmkit.docker.io",
      "0912341234",
      "task.0.0123456789",
      "container.system-75-f19a.00",
      "underscores_are_allowed",
      "a".repeat(76),
    ]) {
      expect(message(id), id).toBeUndefined();
    }
  });

  it("rejects invalid identifiers with containerd's message", () => {
    for (const id of [
      ".foo..foo",
      "foo/foo",
      "foo/..",
      "foo..foo",
      "foo.-boo",
      "-foo.boo",
      "foo.boo-",
      "but__only_tasteful_underscores",
      "zn--e9.org",
      "default--default",
      "a b",
      "é",
    ]) {
      expect(message(id), id).toBe(`identifier "${id}" must match ${PATTERN}: invalid argument`);
    }
  });

  it("quotes like Go's %q", () => {
    expect(message('a"b')).toBe(`identifier "a\\"b" must match ${PATTERN}: invalid argument`);
    expect(message("a\nb")).toBe(`identifier "a\\nb" must match ${PATTERN}: invalid argument`);
    expect(message("a\u0000")).toBe(`identifier "a\\x00" must match ${PATTERN}: invalid argument`);
  });

  it("rejects the empty string", () => {
    expect(message("")).toBe("identifier must not be empty: invalid argument");
  });

  it("measures the maximum length (76) in bytes", () => {
    const long = "a".repeat(77);
    expect(message(long)).toBe(`identifier "${long}" greater than maximum length (76 characters): invalid argument`);
    // 38 two-byte characters are 76 bytes: not too long, but not an identifier either
    expect(message("é".repeat(38))).toMatch(/must match/);
    // 39 of them are 78 bytes: too long, although only 39 characters
    expect(message("é".repeat(39))).toMatch(/greater than maximum length \(76 characters\)/);
  });
});
