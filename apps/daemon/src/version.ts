/** Build information, filled in by the bundler (apps/daemon/build.mjs); "dev" values when run unbundled. */
declare const __CONTAINERTS_VERSION__: string | undefined;
declare const __CONTAINERTS_REVISION__: string | undefined;

/** The daemon's version, as the Version service reports it. */
export const version: string = typeof __CONTAINERTS_VERSION__ === "string" ? __CONTAINERTS_VERSION__ : "0.0.0-dev";
/** The git revision the daemon was built from. */
export const revision: string = typeof __CONTAINERTS_REVISION__ === "string" ? __CONTAINERTS_REVISION__ : "unknown";
