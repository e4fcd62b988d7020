/**
 * The archives are what containerd 1.6 expects: the stock containerd imports every layout, unpacks the
 * layers (whiteouts, opaque directories, hard links, symlinks applied), and runs the busybox image.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunResult, type TestDaemon, ctr, startContainerd, unmountUnder } from "@containerts/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusybox, buildSynthetic } from "./index.js";

const namespace = `testimages-${randomBytes(4).toString("hex")}`;
let dir = "";
let d: TestDaemon | undefined;
const c = (args: readonly string[]): Promise<RunResult> => ctr(d!, args, { namespace });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "testimages-import-"));
  d = await startContainerd();
});

afterAll(async () => {
  if (d !== undefined) {
    await c(["tasks", "kill", "-s", "SIGKILL", "bb"]);
    await c(["containers", "rm", "bb"]);
    await d.cleanup();
  }
  if (dir !== "") {
    unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }
  await rm(join("/run/containerd/runc", namespace), { recursive: true, force: true });
});

describe("containerd imports the test images", () => {
  it.each(["oci", "docker", "docker-oci"] as const)("imports the busybox image in the %s layout", async (format) => {
    const name = `docker.io/library/busybox-${format}:latest`;
    await buildBusybox(join(dir, `${format}.tar`), { format, name });
    const r = await c(["images", "import", join(dir, `${format}.tar`)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(name);
    const check = await c(["images", "check"]);
    expect(check.stdout).toMatch(new RegExp(`${name.replace(/[.]/g, "\\.")}\\s+\\S+\\s+\\S+\\s+complete \\(2/2\\)`));
  });

  it("runs the busybox image", async () => {
    await buildBusybox(join(dir, "busybox.tar"));
    expect((await c(["images", "import", join(dir, "busybox.tar")])).code).toBe(0);
    const r = await c(["run", "--rm", "docker.io/library/busybox:latest", "bb", "sh", "-c", "echo $PATH; id -un; ls /bin | wc -l"]);
    expect(r.code, r.stderr).toBe(0);
    const [path, user, count] = r.stdout.trim().split("\n");
    expect(path).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(user).toBe("root");
    expect(Number(count)).toBeGreaterThan(200);
  });

  it("unpacks the synthetic layers with their whiteouts and links applied", async () => {
    const name = "docker.io/containerts/synthetic:latest";
    await buildSynthetic(join(dir, "synthetic.tar"), { layers: 3, filesPerLayer: 150, bytesPerLayer: 256 << 10 });
    expect((await c(["images", "import", join(dir, "synthetic.tar")])).code).toBe(0);
    const target = join(dir, "mnt");
    await mkdir(target);
    const m = await c(["images", "mount", name, target]);
    expect(m.code, m.stderr).toBe(0);
    try {
      const s = join(target, "synthetic");
      expect(await readFile(join(s, "release"), "utf8")).toBe("layer 3\n");
      expect(await readFile(join(s, "whiteout/keep.txt"), "utf8")).toBe("keep\n");
      await expect(lstat(join(s, "whiteout/gone-file.txt"))).rejects.toMatchObject({ code: "ENOENT" });
      await expect(lstat(join(s, "whiteout/gone-dir"))).rejects.toMatchObject({ code: "ENOENT" });
      await expect(lstat(join(s, "opaque/old-0.txt"))).rejects.toMatchObject({ code: "ENOENT" });
      await expect(lstat(join(s, "opaque/mid-2.txt"))).rejects.toMatchObject({ code: "ENOENT" });
      expect(await readFile(join(s, "opaque/new.txt"), "utf8")).toBe("new in layer 3\n");
      expect((await stat(join(s, "links/target.txt"))).nlink).toBe(2);
      expect(await readlink(join(s, "links/rel"))).toBe("target.txt");
      expect(await readlink(join(s, "links/abs"))).toBe("/bin/busybox");
      await expect(lstat(join(target, "data/l01/d000/f00000.txt"))).rejects.toMatchObject({ code: "ENOENT" });
      expect((await lstat(join(target, "data/l02/d000"))).isDirectory()).toBe(true);
      expect((await lstat(join(target, "bin/busybox"))).isFile()).toBe(true);
    } finally {
      await c(["images", "unmount", target]);
    }
  });
});
