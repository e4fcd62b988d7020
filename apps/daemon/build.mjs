// Builds what bin/containertsd runs: dist/containertsd-bundle.js and its V8 code cache
// (tools/launcher-bundle.mjs; docs/decisions.md §13). classic-level's JavaScript is bundled; its native
// binding is loaded at run time from the installed package.
import { build } from "esbuild";
import { dirname } from "node:path";
import { buildLauncherBundle } from "../../tools/launcher-bundle.mjs";

/**
 * classic-level loads its addon with `require("node-gyp-build")(__dirname)`; inside the bundle __dirname
 * is dist/, so point node-gyp-build at the installed classic-level package instead (found through
 * `level`, a dependency of this package).
 */
const classicLevelBinding = {
  name: "classic-level-binding",
  setup(b) {
    b.onLoad({ filter: /[\\/]classic-level[\\/]binding\.js$/ }, (args) => ({
      contents: [
        'const { dirname } = require("node:path");',
        'const { createRequire } = require("node:module");',
        'const level = createRequire(__filename).resolve("level/package.json");',
        'module.exports = require("node-gyp-build")(dirname(createRequire(level).resolve("classic-level/package.json")));',
      ].join("\n"),
      loader: "js",
      resolveDir: dirname(args.path),
    }));
  },
};

await buildLauncherBundle({
  build,
  appDir: new URL(".", import.meta.url).pathname,
  program: "containertsd",
  name: "containertsd",
  plugins: [classicLevelBinding],
  define: { __CONTAINERTS_LAUNCHED__: "true" },
  legacyOutputs: ["containertsd.mjs", "containertsd.mjs.map"],
});
