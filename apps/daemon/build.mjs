// Builds what bin/containertsd runs (docs/decisions.md §13):
//  - dist/containertsd-bundle.js: the whole daemon, every JavaScript dependency included, as one CommonJS
//    function expression `(function (exports, require, module, __filename, __dirname) { … })` that the
//    launcher compiles with node:vm. Only koffi stays outside (it is required on first use from
//    apps/daemon/node_modules); classic-level's JavaScript is bundled and its native binding is loaded
//    at run time from the installed package. Whitespace-minified with non-ASCII characters escaped
//    (esbuild leaves those of regular expression literals; the build warns about them): the launcher reads
//    an ASCII bundle as latin1, which Node keeps as an external one-byte string outside V8's heap.
//  - dist/containertsd-bundle.js.v8cache: a V8 code cache of the bundle, made by evaluating it once here
//    with the same node; the launcher replaces it with a fuller one after the daemon's first boot.
// Version and git revision are baked in.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
let revision = process.env.CONTAINERTS_REVISION ?? "";
if (!revision) {
  try {
    revision = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    revision = "unknown";
  }
}

const outfile = `${here}dist/containertsd-bundle.js`;

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

/**
 * grpc-js requires @grpc/proto-loader (and with it protobufjs, ~12% of the bundle) only to serve the
 * channelz admin service and ORCA load reports, neither of which the daemon uses: a stub that says so
 * replaces it.
 */
const noProtoLoader = {
  name: "no-proto-loader",
  setup(b) {
    b.onResolve({ filter: /^@grpc\/proto-loader$/ }, () => ({ path: "@grpc/proto-loader", namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents: 'exports.loadSync = () => { throw new Error("containertsd does not bundle @grpc/proto-loader (grpc-js channelz and ORCA are not served)"); };',
      loader: "js",
    }));
  },
};

/**
 * Code compiled through node:vm cannot run `import()` (no dynamic-import callback; the launcher hands the
 * daemon an importer for external plugins instead). A dynamic import of a Node built-in anywhere in the
 * packages becomes a bundled `require` wrapper, so it keeps working.
 */
const dynamicBuiltins = {
  name: "dynamic-builtins",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "dynamic-import" && isBuiltin(args.path) ? { path: args.path, namespace: "dynamic-builtin" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "dynamic-builtin" }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: "js" }));
  },
};

await build({
  entryPoints: [`${here}dist/main.js`],
  outfile,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  minifyWhitespace: true,
  minifySyntax: true,
  charset: "ascii",
  legalComments: "none",
  sourcemap: "linked",
  external: ["koffi"],
  plugins: [classicLevelBinding, noProtoLoader, dynamicBuiltins],
  banner: {
    js: [
      "(function (exports, require, module, __filename, __dirname) {",
      'var __ctsImportMeta = { get url() { return require("node:url").pathToFileURL(__filename).href; } };',
    ].join("\n"),
  },
  footer: { js: "})" },
  define: {
    "import.meta": "__ctsImportMeta",
    __CONTAINERTS_LAUNCHED__: "true",
    __CONTAINERTS_VERSION__: JSON.stringify(pkg.version),
    __CONTAINERTS_REVISION__: JSON.stringify(revision),
  },
  logLevel: "warning",
});

// The launcher matches the code cache to the bundle by this id (V8 itself only checks the length).
let source = readFileSync(outfile, "utf8");
const nonAscii = /[^\x00-\x7f]/.exec(source);
if (nonAscii) {
  const at = source.slice(Math.max(0, nonAscii.index - 40), nonAscii.index + 10);
  console.warn(`${outfile}: U+${nonAscii[0].codePointAt(0).toString(16)} in ${JSON.stringify(at)}: not ASCII, so the launcher decodes it as UTF-8 onto V8's heap (more memory and start-up time); write it as a \\u escape`);
}
const id = createHash("sha256").update(source).digest("hex").slice(0, 32);
source += `\n//# containerts-bundle-id=${id}\n`;
writeFileSync(outfile, source);

// Outputs of earlier layouts.
for (const f of ["containertsd.mjs", "containertsd.mjs.map"]) rmSync(`${here}dist/${f}`, { force: true });

// Evaluate the bundle once, without starting the daemon, to write the code cache.
rmSync(`${outfile}.v8cache`, { force: true });
try {
  execFileSync(process.execPath, [`${here}bin/containertsd`], { env: { ...process.env, CONTAINERTS_CODE_CACHE: "build" }, stdio: "inherit" });
} catch (err) {
  // The launcher then compiles the bundle and writes the cache on its first run.
  console.warn(`could not write the code cache (${err.message}); the first containertsd run will`);
}
