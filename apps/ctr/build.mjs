// Builds what bin/tsctr runs: dist/tsctr-bundle.js and its V8 code cache, the same way as the daemon
// (tools/launcher-bundle.mjs; docs/decisions.md §13).
import { build } from "esbuild";
import { buildLauncherBundle } from "../../tools/launcher-bundle.mjs";

await buildLauncherBundle({
  build,
  appDir: new URL(".", import.meta.url).pathname,
  program: "tsctr",
  name: "tsctr",
  legacyOutputs: ["tsctr.mjs", "tsctr.mjs.map"],
  cacheStdio: ["ignore", "ignore", "inherit"],
});
