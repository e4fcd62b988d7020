/**
 * Platform options of the image operations: what callers may pass (`"linux/arm64"`, a platform object,
 * a list, or "all") and the matcher each operation uses for it, with containerd's defaults.
 */
import type { Platform } from "@containerts/content";
import {
  allPlatforms as matchAllPlatforms,
  defaultPlatformMatcher,
  defaultPlatformMatcherStrict,
  onlyPlatform,
  onlyPlatformStrict,
  orderedPlatforms,
  parsePlatform,
  type PlatformMatchComparer,
} from "@containerts/images";

/** A platform as callers give it: a specifier such as `linux/arm64/v8`, or a parsed platform. */
export type PlatformSpec = string | Platform;

/** Parses a {@link PlatformSpec} (containerd's `platforms.Parse` for strings). */
export function toPlatform(spec: PlatformSpec): Platform {
  return typeof spec === "string" ? parsePlatform(spec) : spec;
}

/**
 * The matcher for one platform, or the host's: `only` (the platform and what it can also run, as
 * `platforms.Only`) or `strict` (exactly it, as `platforms.OnlyStrict`).
 */
export function matcherFor(spec: PlatformSpec | undefined, mode: "only" | "strict" = "only"): PlatformMatchComparer {
  if (spec === undefined || spec === "") return mode === "strict" ? defaultPlatformMatcherStrict() : defaultPlatformMatcher();
  const p = toPlatform(spec);
  return mode === "strict" ? onlyPlatformStrict(p) : onlyPlatform(p);
}

/** A matcher preferring `specs` in order (`platforms.Ordered`), the host's when empty. */
export function orderedMatcher(specs: readonly PlatformSpec[]): PlatformMatchComparer {
  if (specs.length === 0) return defaultPlatformMatcher();
  return orderedPlatforms(specs.map(toPlatform));
}

/** The matcher accepting every platform. */
export const anyPlatform: PlatformMatchComparer = matchAllPlatforms;
