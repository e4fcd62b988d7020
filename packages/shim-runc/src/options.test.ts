import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_RUNC_ROOT, EMPTY_OPTIONS, optionsFromJson, optionsToJson, readBundleOptions, runcRoot, runtimeBinary, writeBundleOptions } from "./options.js";

describe("runc options", () => {
  let dir = "";
  afterEach(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("writes containerd's options.json shape: snake_case keys, zero values left out", () => {
    expect(optionsToJson(EMPTY_OPTIONS)).toBe("{}");
    const o = { ...EMPTY_OPTIONS, binaryName: "crun", root: "/r", systemdCgroup: true, ioUid: 1000 };
    expect(JSON.parse(optionsToJson(o))).toEqual({ binary_name: "crun", root: "/r", systemd_cgroup: true, io_uid: 1000 });
    expect(optionsFromJson(optionsToJson(o))).toEqual(o);
  });

  it("ignores unknown and mistyped keys", () => {
    expect(optionsFromJson('{"root": 5, "extra": true, "no_pivot_root": true}')).toEqual({ ...EMPTY_OPTIONS, noPivotRoot: true });
  });

  it("picks the runc binary and root", () => {
    expect(runtimeBinary(EMPTY_OPTIONS)).toBe("runc");
    expect(runcRoot(EMPTY_OPTIONS, "ns")).toBe(`${DEFAULT_RUNC_ROOT}/ns`);
    expect(runcRoot({ ...EMPTY_OPTIONS, root: "/x" }, "ns")).toBe("/x/ns");
  });

  it("round-trips through the bundle files", async () => {
    dir = await mkdtemp(join(tmpdir(), "tsrunc-opts-"));
    expect(await readBundleOptions(dir)).toEqual(EMPTY_OPTIONS);
    const o = { ...EMPTY_OPTIONS, binaryName: "/usr/sbin/runc", noNewKeyring: true };
    await writeBundleOptions(dir, o);
    expect(await readFile(join(dir, "runtime"), "utf8")).toBe("/usr/sbin/runc");
    expect(await readBundleOptions(dir)).toEqual(o);
    // containerd's shim writes the binary name to `runtime` as well: it wins when options.json lacks it.
    await writeFile(join(dir, "options.json"), "{}");
    expect((await readBundleOptions(dir)).binaryName).toBe("/usr/sbin/runc");
  });
});
