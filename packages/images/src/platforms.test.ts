import { describe, expect, it } from "vitest";
import { isInvalidArgument } from "@containerts/errdefs";
import type { Platform } from "@containerts/content";

import {
  allPlatforms,
  anyPlatforms,
  cpuVariantFromCpuinfo,
  defaultPlatform,
  defaultPlatformMatcher,
  defaultPlatformMatcherStrict,
  defaultPlatformString,
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  onlyPlatform,
  onlyPlatformStrict,
  orderedPlatforms,
  parsePlatform,
  platformMatcher,
  type HostPlatform,
} from "./platforms.js";

const amd64Host: HostPlatform = { os: "linux", architecture: "amd64", variant: "" };
const arm64Host: HostPlatform = { os: "linux", architecture: "arm64", variant: "v8" };
const armv6Host: HostPlatform = { os: "linux", architecture: "arm", variant: "v6" };
const armv7Host: HostPlatform = { os: "linux", architecture: "arm", variant: "v7" };

const p = (os: string, architecture: string, variant?: string): Platform => ({ os, architecture, ...(variant ? { variant } : {}) });

describe("parsePlatform", () => {
  const table: [string, HostPlatform, Platform][] = [
    ["linux", amd64Host, p("linux", "amd64")],
    ["linux", arm64Host, p("linux", "arm64")],
    ["linux", armv6Host, p("linux", "arm", "v6")],
    ["linux", armv7Host, p("linux", "arm")],
    ["amd64", amd64Host, p("linux", "amd64")],
    ["x86_64", amd64Host, p("linux", "amd64")],
    ["aarch64", amd64Host, p("linux", "arm64")],
    ["arm", amd64Host, p("linux", "arm")],
    ["armel", amd64Host, p("linux", "arm", "v6")],
    ["i386", amd64Host, p("linux", "386")],
    ["linux/amd64", amd64Host, p("linux", "amd64")],
    ["Linux/AMD64", amd64Host, p("linux", "amd64")],
    ["linux/x86-64", amd64Host, p("linux", "amd64")],
    ["linux/arm64", amd64Host, p("linux", "arm64")],
    ["linux/arm64/v8", amd64Host, p("linux", "arm64", "v8")],
    ["linux/aarch64/8", amd64Host, p("linux", "arm64", "v8")],
    ["linux/arm64/v9", amd64Host, p("linux", "arm64", "v9")],
    ["linux/arm", amd64Host, p("linux", "arm")],
    ["linux/armhf", amd64Host, p("linux", "arm")],
    ["linux/arm/v7", amd64Host, p("linux", "arm", "v7")],
    ["linux/arm/7", amd64Host, p("linux", "arm", "v7")],
    ["linux/arm/6", amd64Host, p("linux", "arm", "v6")],
    ["linux/arm/v5", amd64Host, p("linux", "arm", "v5")],
    ["linux/amd64/v1", amd64Host, p("linux", "amd64")],
    ["linux/amd64/v3", amd64Host, p("linux", "amd64", "v3")],
    ["macos/arm64", amd64Host, p("darwin", "arm64")],
    ["windows/amd64", amd64Host, p("windows", "amd64")],
    ["linux/ppc64le", amd64Host, p("linux", "ppc64le")],
    ["freebsd", amd64Host, p("freebsd", "amd64")],
  ];
  it.each(table)("%s on %o", (spec, host, want) => {
    expect(parsePlatform(spec, host)).toEqual(want);
  });

  it.each([
    ["linux/*", /wildcards not yet supported/],
    ["linux/amd 64", /"amd 64" is an invalid component of "linux\/amd 64": platform specifier component must match/],
    ["", /"" is an invalid component of ""/],
    ["linux//amd64", /invalid component/],
    ["a/b/c/d", /cannot parse platform specifier/],
    ["nonsense", /"nonsense": unknown operating system or architecture/],
  ])("refuses %j", (spec, message) => {
    let err: unknown;
    try {
      parsePlatform(spec, amd64Host);
    } catch (e) {
      err = e;
    }
    expect(isInvalidArgument(err)).toBe(true);
    expect((err as Error).message).toMatch(message);
  });
});

describe("formatPlatform and normalizePlatform", () => {
  it("formats like platforms.Format", () => {
    expect(formatPlatform(p("linux", "amd64"))).toBe("linux/amd64");
    expect(formatPlatform(p("linux", "arm64", "v8"))).toBe("linux/arm64/v8");
    expect(formatPlatform(p("linux", ""))).toBe("linux");
    expect(formatPlatform(p("", "amd64"))).toBe("unknown");
  });

  it("normalizes names, default variants and an empty OS", () => {
    expect(normalizePlatform(p("Linux", "x86_64"), amd64Host)).toEqual(p("linux", "amd64"));
    expect(normalizePlatform(p("linux", "aarch64", "v8"), amd64Host)).toEqual(p("linux", "arm64"));
    expect(normalizePlatform(p("linux", "arm64", "8"), amd64Host)).toEqual(p("linux", "arm64"));
    expect(normalizePlatform(p("linux", "arm"), amd64Host)).toEqual(p("linux", "arm", "v7"));
    expect(normalizePlatform(p("linux", "armhf"), amd64Host)).toEqual(p("linux", "arm", "v7"));
    expect(normalizePlatform(p("linux", "i386", "x"), amd64Host)).toEqual(p("linux", "386"));
    expect(normalizePlatform(p("", "amd64"), arm64Host)).toEqual(p("linux", "amd64"));
    expect(normalizePlatform({ os: "windows", architecture: "amd64", osVersion: "10.0.17763.1" }, amd64Host)).toEqual({
      os: "windows",
      architecture: "amd64",
      osVersion: "10.0.17763.1",
    });
  });
});

describe("platform matchers", () => {
  it("platformMatcher compares normalized os, architecture and variant", () => {
    const m = platformMatcher(p("linux", "arm64", "v8"), amd64Host);
    expect(m.match(p("linux", "arm64"))).toBe(true);
    expect(m.match(p("linux", "aarch64"))).toBe(true);
    expect(m.match(p("linux", "arm64", "v9"))).toBe(false);
    expect(m.match(p("linux", "arm", "v8"))).toBe(false);
  });

  // The matching table of platforms.Only: what each platform runs, in order of preference.
  const matching: [string, Platform, Platform[], Platform[]][] = [
    ["linux/amd64", p("linux", "amd64"), [p("linux", "amd64"), p("linux", "x86_64"), p("linux", "amd64", "v1"), p("linux", "386"), p("linux", "i386")], [p("linux", "arm64"), p("windows", "amd64"), p("linux", "amd64", "v2")]],
    ["linux/amd64/v3", p("linux", "amd64", "v3"), [p("linux", "amd64", "v3"), p("linux", "amd64", "v2"), p("linux", "amd64"), p("linux", "386")], [p("linux", "amd64", "v4")]],
    ["linux/arm64", p("linux", "arm64"), [p("linux", "arm64"), p("linux", "arm64", "v8"), p("linux", "aarch64"), p("linux", "arm", "v8"), p("linux", "arm", "v7"), p("linux", "arm"), p("linux", "armhf"), p("linux", "arm", "v6"), p("linux", "arm", "v5")], [p("linux", "amd64"), p("linux", "arm", "v4"), p("linux", "arm64", "v9")]],
    ["linux/arm/v7", p("linux", "arm", "v7"), [p("linux", "arm", "v7"), p("linux", "arm"), p("linux", "arm", "v6"), p("linux", "armel"), p("linux", "arm", "v5")], [p("linux", "arm", "v8"), p("linux", "arm64")]],
    ["linux/arm/v5", p("linux", "arm", "v5"), [p("linux", "arm", "v5")], [p("linux", "arm", "v6"), p("linux", "arm")]],
  ];
  it.each(matching)("onlyPlatform(%s)", (_name, platform, yes, no) => {
    const m = onlyPlatform(platform, amd64Host);
    for (const q of yes) expect(m.match(q), JSON.stringify(q)).toBe(true);
    for (const q of no) expect(m.match(q), JSON.stringify(q)).toBe(false);
    // Each accepted platform is preferred over the ones after it (those that normalize differently).
    for (let i = 0; i + 1 < yes.length; i++) {
      for (let j = i + 1; j < yes.length; j++) {
        const a = normalizePlatform(yes[i]!, amd64Host);
        const b = normalizePlatform(yes[j]!, amd64Host);
        if (formatPlatform(a) === formatPlatform(b)) continue;
        expect(m.less(yes[i]!, yes[j]!), `${formatPlatform(a)} < ${formatPlatform(b)}`).toBe(true);
        expect(m.less(yes[j]!, yes[i]!)).toBe(false);
      }
    }
    expect(m.less(no[0]!, yes[0]!)).toBe(false);
  });

  it("onlyPlatformStrict has no fallbacks", () => {
    const m = onlyPlatformStrict(p("linux", "amd64"), amd64Host);
    expect(m.match(p("linux", "amd64"))).toBe(true);
    expect(m.match(p("linux", "386"))).toBe(false);
  });

  it("orderedPlatforms prefers in the given order; anyPlatforms only prefers a match", () => {
    const ordered = orderedPlatforms([p("linux", "arm64"), p("linux", "amd64")], amd64Host);
    expect(ordered.match(p("linux", "amd64"))).toBe(true);
    expect(ordered.match(p("linux", "386"))).toBe(false);
    expect(ordered.less(p("linux", "arm64"), p("linux", "amd64"))).toBe(true);
    expect(ordered.less(p("linux", "amd64"), p("linux", "arm64"))).toBe(false);
    expect(ordered.less(p("linux", "amd64"), p("linux", "s390x"))).toBe(true);
    const any = anyPlatforms([p("linux", "arm64"), p("linux", "amd64")], amd64Host);
    expect(any.less(p("linux", "arm64"), p("linux", "amd64"))).toBe(false);
    expect(any.less(p("linux", "amd64"), p("linux", "s390x"))).toBe(true);
    expect(allPlatforms.match(p("plan9", "mips"))).toBe(true);
    expect(allPlatforms.less(p("linux", "amd64"), p("linux", "arm64"))).toBe(false);
  });

  it("the default platform is the host's, with containerd's fallbacks", () => {
    expect(defaultPlatform(amd64Host)).toEqual(p("linux", "amd64"));
    expect(defaultPlatformString(amd64Host)).toBe("linux/amd64");
    expect(defaultPlatformString(arm64Host)).toBe("linux/arm64/v8");
    const d = defaultPlatformMatcher(amd64Host);
    expect(d.match(p("linux", "amd64"))).toBe(true);
    expect(d.match(p("linux", "386"))).toBe(true);
    expect(d.match(p("linux", "arm64"))).toBe(false);
    expect(defaultPlatformMatcherStrict(amd64Host).match(p("linux", "386"))).toBe(false);
    const arm = defaultPlatformMatcher(arm64Host);
    expect(arm.match(p("linux", "arm", "v7"))).toBe(true);
    expect(arm.less(p("linux", "arm64", "v8"), p("linux", "arm", "v7"))).toBe(true);
  });

  it("knows this host in Go's names", () => {
    const host = hostPlatform();
    expect(host.os).toBe(process.platform === "win32" ? "windows" : process.platform);
    const goArch: Record<string, string> = { x64: "amd64", arm64: "arm64", ia32: "386" };
    expect(host.architecture).toBe(goArch[process.arch] ?? host.architecture);
    expect(defaultPlatformString()).toBe(formatPlatform(defaultPlatform(host)));
  });

  it("reads the ARM variant from /proc/cpuinfo text", () => {
    expect(cpuVariantFromCpuinfo("processor\t: 0\nCPU architecture: 8\n", "arm64")).toBe("v8");
    expect(cpuVariantFromCpuinfo("CPU architecture: 7\nmodel name : ARMv6-compatible processor rev 7 (v6l)\n", "arm")).toBe("v6");
    expect(cpuVariantFromCpuinfo("CPU architecture: 7\n", "arm")).toBe("v7");
    expect(cpuVariantFromCpuinfo("CPU architecture: 5TEJ\n", "arm")).toBe("v5");
    expect(cpuVariantFromCpuinfo("CPU architecture: 42\n", "arm")).toBe("unknown");
    expect(cpuVariantFromCpuinfo("flags: fpu\n", "arm")).toBe("");
  });
});
