/**
 * Platforms (containerd's `platforms` package): parsing and formatting of specifiers such as
 * `linux/arm64/v8`, normalization of OS and architecture names (`x86_64` → `amd64`, `aarch64` →
 * `arm64`, `armhf` → `arm/v7`, …), matchers, and the default platform of the host with containerd's
 * fallback rules (an `arm64` host also runs `arm/v8`…`arm/v5` images; `amd64` runs `386`).
 *
 * Everything here is pure, except that the host defaults read `process.platform` / `process.arch` and,
 * on ARM hosts only, `/proc/cpuinfo` for the CPU variant (pass a {@link HostPlatform} to avoid that).
 */
import { readFileSync } from "node:fs";
import { endianness } from "node:os";

import type { Platform } from "@containerts/content";
import { InvalidArgumentError } from "@containerts/errdefs";
import { quoteFilterString } from "@containerts/namespaces";

/** Decides whether a platform is acceptable (containerd's `platforms.Matcher`). */
export interface PlatformMatcher {
  match(platform: Platform): boolean;
}

/**
 * A matcher that also orders platforms by preference (containerd's `platforms.MatchComparer`):
 * `less(a, b)` is true when `a` is preferred over `b`.
 */
export interface PlatformMatchComparer extends PlatformMatcher {
  less(a: Platform, b: Platform): boolean;
}

/**
 * The host as the platform functions see it, in Go's names (`GOOS`, `GOARCH`) plus the CPU variant of
 * ARM hosts. Defaults come from {@link hostPlatform}.
 */
export interface HostPlatform {
  /** Go's `GOOS`, e.g. `linux`. */
  readonly os: string;
  /** Go's `GOARCH`, e.g. `amd64`, `arm64`. */
  readonly architecture: string;
  /** The CPU variant (`v8`, `v7`, …) on ARM hosts, `""` elsewhere. */
  readonly variant: string;
}

const specifierPattern = /^[A-Za-z0-9_-]+$/;

const knownOS = new Set([
  "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl", "netbsd", "openbsd",
  "plan9", "solaris", "windows", "zos",
]);

const knownArch = new Set([
  "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64", "mips", "mipsle", "mips64",
  "mips64le", "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
]);

/** Node's `process.platform` in Go's `GOOS` names. */
function goOS(platform: string): string {
  switch (platform) {
    case "win32":
      return "windows";
    case "sunos":
      return "solaris";
    default:
      return platform;
  }
}

/** Node's `process.arch` in Go's `GOARCH` names. */
function goArch(arch: string): string {
  switch (arch) {
    case "x64":
      return "amd64";
    case "ia32":
      return "386";
    case "mipsel":
      return "mipsle";
    case "ppc64":
      return endianness() === "LE" ? "ppc64le" : "ppc64";
    default:
      return arch;
  }
}

/**
 * The ARM CPU variant from the text of `/proc/cpuinfo` (containerd's `getCPUVariant`): `v8`, `v7`,
 * `v6`, `v5`, …, `"unknown"` when the `CPU architecture` line has an unexpected value, `""` when absent.
 */
export function cpuVariantFromCpuinfo(cpuinfo: string, architecture: string): string {
  const field = (name: string): string | undefined => {
    for (const line of cpuinfo.split("\n")) {
      const i = line.indexOf(":");
      if (i > 0 && line.slice(0, i).trim().toLowerCase() === name.toLowerCase()) return line.slice(i + 1).trim();
    }
    return undefined;
  };
  let variant = field("Cpu architecture");
  if (variant === undefined) return "";
  if (architecture === "arm" && variant === "7") {
    const model = field("model name");
    if (model !== undefined && model.toLowerCase().startsWith("armv6-compatible")) variant = "6";
  }
  switch (variant.toLowerCase()) {
    case "8":
    case "aarch64":
      return "v8";
    case "7":
    case "7m":
    case "?(12)":
    case "?(13)":
    case "?(14)":
    case "?(15)":
    case "?(16)":
    case "?(17)":
      return "v7";
    case "6":
    case "6tej":
      return "v6";
    case "5":
    case "5t":
    case "5te":
    case "5tej":
      return "v5";
    case "4":
    case "4t":
      return "v4";
    case "3":
      return "v3";
    default:
      return "unknown";
  }
}

/**
 * This host's platform in Go's names. On ARM Linux hosts the CPU variant is read from `/proc/cpuinfo`
 * (`""` when that fails); elsewhere it is `""`.
 */
export function hostPlatform(): HostPlatform {
  const os = goOS(process.platform);
  const architecture = goArch(process.arch);
  let variant = "";
  if ((architecture === "arm" || architecture === "arm64") && os === "linux") {
    try {
      variant = cpuVariantFromCpuinfo(readFileSync("/proc/cpuinfo", "utf8"), architecture);
    } catch {
      variant = "";
    }
  }
  return { os, architecture, variant };
}

function platformOf(os: string, architecture: string, variant: string, rest?: Pick<Platform, "osVersion" | "osFeatures">): Platform {
  return {
    os,
    architecture,
    ...(variant !== "" ? { variant } : {}),
    ...(rest?.osVersion !== undefined && rest.osVersion !== "" ? { osVersion: rest.osVersion } : {}),
    ...(rest?.osFeatures !== undefined && rest.osFeatures.length > 0 ? { osFeatures: [...rest.osFeatures] } : {}),
  };
}

function normalizeOS(os: string, host: HostPlatform): string {
  if (os === "") return host.os;
  const lower = os.toLowerCase();
  return lower === "macos" ? "darwin" : lower;
}

function normalizeArch(architecture: string, variant: string): [string, string] {
  let arch = architecture.toLowerCase();
  let v = variant.toLowerCase();
  switch (arch) {
    case "i386":
      arch = "386";
      v = "";
      break;
    case "x86_64":
    case "x86-64":
    case "amd64":
      arch = "amd64";
      if (v === "v1") v = "";
      break;
    case "aarch64":
    case "arm64":
      arch = "arm64";
      if (v === "8" || v === "v8") v = "";
      break;
    case "armhf":
      arch = "arm";
      v = "v7";
      break;
    case "armel":
      arch = "arm";
      v = "v6";
      break;
    case "arm":
      if (v === "" || v === "7") v = "v7";
      else if (v === "5" || v === "6" || v === "8") v = `v${v}`;
      break;
  }
  return [arch, v];
}

/**
 * Normalizes a platform (containerd's `platforms.Normalize`): lower-cases OS and architecture, maps
 * aliases (`macos` → `darwin`, `x86_64`/`x86-64` → `amd64`, `aarch64` → `arm64`, `i386` → `386`,
 * `armhf` → `arm/v7`, `armel` → `arm/v6`), fills an empty OS with the host's, drops default variants
 * (`amd64/v1`, `arm64/v8`) and completes ARM variants (`arm` → `arm/v7`, `arm/6` → `arm/v6`).
 */
export function normalizePlatform(platform: Platform, host: HostPlatform = hostPlatform()): Platform {
  const [architecture, variant] = normalizeArch(platform.architecture, platform.variant ?? "");
  return platformOf(normalizeOS(platform.os, host), architecture, variant, platform);
}

/**
 * Parses a platform specifier (containerd's `platforms.Parse`): `<os>`, `<arch>`, `<os>/<arch>` or
 * `<os>/<arch>/<variant>`, normalized. A lone OS takes the host's architecture; a lone architecture the
 * host's OS. `arm/v7` is written `arm` (variant dropped), and a three-part `arm64` gets variant `v8`.
 * @throws InvalidArgumentError for wildcards, components that do not match `^[A-Za-z0-9_-]+$`, a lone
 *   word that is neither a known OS nor a known architecture, or more than three components.
 */
export function parsePlatform(specifier: string, host: HostPlatform = hostPlatform()): Platform {
  const quoted = quoteFilterString(specifier);
  if (specifier.includes("*")) throw new InvalidArgumentError(`${quoted}: wildcards not yet supported`);
  const parts = specifier.split("/");
  for (const part of parts) {
    if (!specifierPattern.test(part)) {
      throw new InvalidArgumentError(
        `${quoteFilterString(part)} is an invalid component of ${quoted}: platform specifier component must match "^[A-Za-z0-9_-]+$"`,
      );
    }
  }
  switch (parts.length) {
    case 1: {
      const word = parts[0]!;
      const os = normalizeOS(word, host);
      if (knownOS.has(os)) {
        const variant = host.architecture === "arm" && host.variant !== "v7" ? host.variant : "";
        return platformOf(os, host.architecture, variant);
      }
      let [architecture, variant] = normalizeArch(word, "");
      if (architecture === "arm" && variant === "v7") variant = "";
      if (knownArch.has(architecture)) return platformOf(host.os, architecture, variant);
      throw new InvalidArgumentError(`${quoted}: unknown operating system or architecture`);
    }
    case 2: {
      let [architecture, variant] = normalizeArch(parts[1]!, "");
      if (architecture === "arm" && variant === "v7") variant = "";
      return platformOf(normalizeOS(parts[0]!, host), architecture, variant);
    }
    case 3: {
      let [architecture, variant] = normalizeArch(parts[1]!, parts[2]!);
      if (architecture === "arm64" && variant === "") variant = "v8";
      return platformOf(normalizeOS(parts[0]!, host), architecture, variant);
    }
    default:
      throw new InvalidArgumentError(`${quoted}: cannot parse platform specifier`);
  }
}

/**
 * Formats a platform as `os/arch[/variant]` (containerd's `platforms.Format`); `"unknown"` when the OS
 * is empty. Empty components are left out.
 */
export function formatPlatform(platform: Pick<Platform, "os" | "architecture" | "variant">): string {
  if (platform.os === "") return "unknown";
  return [platform.os, platform.architecture, platform.variant ?? ""].filter((s) => s !== "").join("/");
}

/**
 * A matcher accepting exactly `platform` after normalization of both sides (containerd's
 * `platforms.NewMatcher`): OS, architecture and variant must be equal.
 */
export function platformMatcher(platform: Platform, host: HostPlatform = hostPlatform()): PlatformMatcher {
  const want = normalizePlatform(platform, host);
  return {
    match(p: Platform): boolean {
      const n = normalizePlatform(p, host);
      return n.os === want.os && n.architecture === want.architecture && (n.variant ?? "") === (want.variant ?? "");
    },
  };
}

/** The platforms `platform` can run, most preferred first (containerd's `platformVector`). */
function platformVector(platform: Platform): Platform[] {
  const vector: Platform[] = [platform];
  const base = { osVersion: platform.osVersion, osFeatures: platform.osFeatures } as Pick<Platform, "osVersion" | "osFeatures">;
  switch (platform.architecture) {
    case "amd64": {
      const n = goAtoi((platform.variant ?? "").replace(/^v/, ""));
      if (n !== undefined && n > 1) {
        for (let v = n - 1; v >= 1; v--) vector.push(platformOf(platform.os, "amd64", `v${v}`, base));
      }
      vector.push(platformOf(platform.os, "386", "", base));
      break;
    }
    case "arm": {
      const n = goAtoi((platform.variant ?? "").replace(/^v/, ""));
      if (n !== undefined && n > 5) {
        for (let v = n - 1; v >= 5; v--) vector.push(platformOf(platform.os, "arm", `v${v}`, base));
      }
      break;
    }
    case "arm64": {
      const variant = platform.variant === undefined || platform.variant === "" ? "v8" : platform.variant;
      vector.push(...platformVector(platformOf(platform.os, "arm", variant, base)));
      break;
    }
  }
  return vector;
}

/** Go's `strconv.Atoi` for the decimal strings met here: undefined when not an integer. */
function goAtoi(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number.parseInt(s, 10) : undefined;
}

/**
 * Matches any of `platforms` and prefers them in the order given (containerd's `platforms.Ordered`).
 */
export function orderedPlatforms(platforms: readonly Platform[], host: HostPlatform = hostPlatform()): PlatformMatchComparer {
  const matchers = platforms.map((p) => platformMatcher(p, host));
  return {
    match: (p) => matchers.some((m) => m.match(p)),
    less(a, b) {
      for (const m of matchers) {
        const am = m.match(a);
        const bm = m.match(b);
        if (am && !bm) return true;
        if (am || bm) return false;
      }
      return false;
    },
  };
}

/**
 * Matches any of `platforms` without preferring one over another beyond "matches" (containerd's
 * `platforms.Any`).
 */
export function anyPlatforms(platforms: readonly Platform[], host: HostPlatform = hostPlatform()): PlatformMatchComparer {
  const matchers = platforms.map((p) => platformMatcher(p, host));
  return {
    match: (p) => matchers.some((m) => m.match(p)),
    less(a, b) {
      let am = false;
      let bm = false;
      for (const m of matchers) {
        if (!am && m.match(a)) am = true;
        if (!bm && m.match(b)) bm = true;
        if (am && bm) return false;
      }
      return am && !bm;
    },
  };
}

/** Matches every platform and prefers none (containerd's `platforms.All`). */
export const allPlatforms: PlatformMatchComparer = Object.freeze({
  match: () => true,
  less: () => false,
});

/**
 * `platform` and what it can also run, in that order of preference (containerd's `platforms.Only`):
 * `amd64/v3` → `amd64/v2`, `amd64`, `386`; `arm64` → `arm/v8`, `arm/v7`, … `arm/v5`; `arm/v7` →
 * `arm/v6`, `arm/v5`.
 */
export function onlyPlatform(platform: Platform, host: HostPlatform = hostPlatform()): PlatformMatchComparer {
  return orderedPlatforms(platformVector(normalizePlatform(platform, host)), host);
}

/** Exactly `platform`, with no fallbacks (containerd's `platforms.OnlyStrict`). */
export function onlyPlatformStrict(platform: Platform, host: HostPlatform = hostPlatform()): PlatformMatchComparer {
  return orderedPlatforms([normalizePlatform(platform, host)], host);
}

/** The host's platform spec (containerd's `platforms.DefaultSpec`): `{ os, architecture, variant }`. */
export function defaultPlatform(host: HostPlatform = hostPlatform()): Platform {
  return platformOf(host.os, host.architecture, host.variant);
}

/** The host's platform formatted (containerd's `platforms.DefaultString`), e.g. `linux/amd64`. */
export function defaultPlatformString(host: HostPlatform = hostPlatform()): string {
  return formatPlatform(defaultPlatform(host));
}

/**
 * The matcher for what the host runs (containerd's `platforms.Default()` = `Only(DefaultSpec())`): on
 * `linux/amd64`, `linux/amd64` then `linux/386`.
 */
export function defaultPlatformMatcher(host: HostPlatform = hostPlatform()): PlatformMatchComparer {
  return onlyPlatform(defaultPlatform(host), host);
}

/** The host's platform with no fallbacks (containerd's `platforms.DefaultStrict`). */
export function defaultPlatformMatcherStrict(host: HostPlatform = hostPlatform()): PlatformMatchComparer {
  return onlyPlatformStrict(defaultPlatform(host), host);
}
