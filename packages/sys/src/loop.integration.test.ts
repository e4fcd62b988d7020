import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { Scratch } from "./__fixtures__/scratch.js";
import { closeFd } from "./fd.js";
import { attachLoopDevice } from "./loop.js";
import { mountOne, unmountAll } from "./mount.js";
import { readMountInfo } from "./mountinfo.js";

const scratch = new Scratch();
const held: number[] = [];
afterEach(() => {
  for (const fd of held.splice(0)) closeFd(fd);
  scratch.cleanup();
});

function backingFile(device: string): string | undefined {
  const p = `/sys/block/${basename(device)}/loop/backing_file`;
  return existsSync(p) ? readFileSync(p, "utf8").trim() : undefined;
}

/** Autoclear may run after the last close returns; wait for the kernel to detach the device. */
async function detached(device: string, file: string): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (backingFile(device) !== file) return true;
    await sleep(10);
  }
  return false;
}

describe("loop devices", () => {
  it("attaches a file read-only and detaches it when the fd is closed (autoclear)", async () => {
    const dir = scratch.dir("loop");
    const img = join(dir, "img");
    writeFileSync(img, "");
    truncateSync(img, 1 << 20);
    const dev = attachLoopDevice(img, { readonly: true });
    held.push(dev.fd);
    expect(dev.path).toMatch(/^\/dev\/loop\d+$/);
    expect(backingFile(dev.path)).toBe(img);
    expect(readFileSync(`/sys/block/${basename(dev.path)}/ro`, "utf8").trim()).toBe("1");
    closeFd(held.pop() as number);
    expect(await detached(dev.path, img)).toBe(true);
  });

  it("mounts an ext4 image with the loop option, like containerd", async () => {
    const dir = scratch.dir("loopmnt");
    const img = join(dir, "fs.img");
    const mnt = join(dir, "mnt");
    writeFileSync(img, "");
    truncateSync(img, 16 << 20);
    execFileSync("mkfs.ext4", ["-q", "-F", img], { stdio: "ignore" });
    execFileSync("mkdir", [mnt]);

    mountOne({ type: "ext4", source: img, options: ["loop", "rw"] }, mnt);
    const info = readMountInfo().find((m) => m.mountPoint === mnt);
    expect(info?.fsType).toBe("ext4");
    expect(info?.source).toMatch(/^\/dev\/loop\d+$/);
    const device = info?.source as string;
    expect(backingFile(device)).toBe(img);
    writeFileSync(join(mnt, "inside"), "ext4");
    expect(readFileSync(join(mnt, "inside"), "utf8")).toBe("ext4");

    unmountAll(mnt);
    expect(await detached(device, img)).toBe(true);
  });
});
