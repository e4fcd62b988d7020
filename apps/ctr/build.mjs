// Builds what bin/tsctr runs, the same way apps/daemon/build.mjs builds the daemon (docs/decisions.md §13):
//  - dist/tsctr-bundle.js: the whole CLI, every JavaScript dependency included, as one CommonJS function
//    expression that the launcher compiles with node:vm. koffi stays outside (required on first use from
//    apps/ctr/node_modules). Whitespace-minified, non-ASCII characters escaped (esbuild leaves those of
//    regular expression literals; the build warns): the launcher reads an ASCII bundle as latin1, an
//    external one-byte string outside V8's heap.
//  - dist/tsctr-bundle.js.v8cache: a V8 code cache of the bundle, made by compiling it here with the same
//    node; the launcher replaces it with a fuller one after its first run.
// Version and git revision are baked in.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";

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

const outfile = `${here}dist/tsctr-bundle.js`;

/** grpc-js needs @grpc/proto-loader (and protobufjs) only for channelz and ORCA, which tsctr never uses. */
const noProtoLoader = {
  name: "no-proto-loader",
  setup(b) {
    b.onResolve({ filter: /^@grpc\/proto-loader$/ }, () => ({ path: "@grpc/proto-loader", namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents: 'exports.loadSync = () => { throw new Error("tsctr does not bundle @grpc/proto-loader (grpc-js channelz and ORCA are not used)"); };',
      loader: "js",
    }));
  },
};

/** Code compiled through node:vm cannot run `import()`: dynamic imports of Node built-ins become requires. */
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
  plugins: [noProtoLoader, dynamicBuiltins],
  banner: {
    js: [
      "(function (exports, require, module, __filename, __dirname) {",
      'var __ctsImportMeta = { get url() { return require("node:url").pathToFileURL(__filename).href; } };',
    ].join("\n"),
  },
  footer: { js: "})" },
  define: {
    "import.meta": "__ctsImportMeta",
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
for (const f of ["tsctr.mjs", "tsctr.mjs.map"]) rmSync(`${here}dist/${f}`, { force: true });

// Run `tsctr --version` once (every module evaluated) to write the code cache.
rmSync(`${outfile}.v8cache`, { force: true });
try {
  execFileSync(process.execPath, [`${here}bin/tsctr`], { env: { ...process.env, CONTAINERTS_CODE_CACHE: "build" }, stdio: ["ignore", "ignore", "inherit"] });
} catch (err) {
  // The launcher then compiles the bundle and writes the cache on its first run.
  console.warn(`could not write the code cache (${err.message}); the first tsctr run will`);
}
