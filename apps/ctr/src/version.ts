/** Build information, filled in by the bundler (apps/ctr/build.mjs). */
declare const __CONTAINERTS_VERSION__: string | undefined;
declare const __CONTAINERTS_REVISION__: string | undefined;

/** tsctr's version. */
export const version: string = typeof __CONTAINERTS_VERSION__ === "string" ? __CONTAINERTS_VERSION__ : "0.0.0-dev";
/** The git revision tsctr was built from. */
export const revision: string = typeof __CONTAINERTS_REVISION__ === "string" ? __CONTAINERTS_REVISION__ : "unknown";
