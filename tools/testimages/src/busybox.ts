/**
 * The busybox root file system: the host's static busybox (Debian `busybox-static`) as `/bin/busybox`,
 * one symlink per applet beside it, a minimal `/etc/passwd` and `/etc/group`, and the usual empty
 * directories.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "@containerts/errdefs";
import { LayerBuilder } from "./layer.js";

/** Where Debian's busybox-static installs the binary. */
export const DEFAULT_BUSYBOX = "/bin/busybox";

/** Options of the busybox layer. */
export interface BusyboxLayerOptions {
  /** The static busybox binary to embed. Default {@link DEFAULT_BUSYBOX}. */
  readonly busybox?: string;
  /**
   * The applets to link in `/bin`: `"all"` (every applet the binary lists with `--list`, the default)
   * or a list of names.
   */
  readonly applets?: "all" | readonly string[];
}

/** `/etc/passwd` of the image. */
export const PASSWD = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
/** `/etc/group` of the image. */
export const GROUP = "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n";

const PT_INTERP = 3;

/** True when the ELF file has no program interpreter (a static executable). */
export function isStaticElf(bytes: Uint8Array): boolean {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) return false;
  if (b[4] !== 2) return false; // ELFCLASS64 only: this tool runs on 64-bit Linux
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > b.length) return false;
    if (b.readUInt32LE(off) === PT_INTERP) return false;
  }
  return true;
}

/**
 * Reads the busybox binary and checks that it is a static executable.
 * Throws NotFoundError when it is missing (install Debian's busybox-static), FailedPreconditionError
 * when it is dynamically linked (it would not run inside the image).
 */
export function readBusybox(path = DEFAULT_BUSYBOX): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new NotFoundError(`busybox binary ${path} (install the Debian package busybox-static)`, { cause });
  }
  if (!isStaticElf(bytes)) {
    throw new FailedPreconditionError(`busybox binary ${path} is not a static executable (install busybox-static)`);
  }
  return bytes;
}

/** The applet names a busybox binary lists (`busybox --list`), sorted, without `busybox` itself. */
export function listApplets(path = DEFAULT_BUSYBOX): string[] {
  const out = execFileSync(path, ["--list"], { encoding: "utf8" });
  return [...new Set(out.split("\n").map((s) => s.trim()))]
    .filter((s) => s !== "" && s !== "busybox")
    .sort();
}

/** Adds the busybox root file system to a layer. */
export function addBusybox(layer: LayerBuilder, options: BusyboxLayerOptions = {}): LayerBuilder {
  const path = options.busybox ?? DEFAULT_BUSYBOX;
  const binary = readBusybox(path);
  const applets = options.applets === undefined || options.applets === "all" ? listApplets(path) : [...options.applets].sort();
  for (const a of applets) {
    if (!/^[A-Za-z0-9._+\-[\]]+$/.test(a) || a === "." || a === "..") {
      throw new InvalidArgumentError(`applet name ${JSON.stringify(a)}`);
    }
  }
  for (const [dir, mode] of [
    ["bin", 0o755],
    ["dev", 0o755],
    ["etc", 0o755],
    ["home", 0o755],
    ["proc", 0o555],
    ["root", 0o700],
    ["sys", 0o555],
    ["tmp", 0o1777],
    ["usr", 0o755],
    ["var", 0o755],
  ] as const) {
    layer.dir(dir, mode);
  }
  layer.file("bin/busybox", binary, 0o755);
  for (const a of applets) layer.symlink(`bin/${a}`, "busybox");
  layer.file("etc/passwd", PASSWD);
  layer.file("etc/group", GROUP);
  return layer;
}
