// Builds a bundle for the code-caching launchers of containertsd and tsctr (docs/decisions.md §13):
//  - dist/<name>-bundle.js: the whole program, every JavaScript dependency included except koffi, as one
//    CommonJS function expression `(function (exports, require, module, __filename, __dirname) { … })` that
//    the launcher compiles with node:vm. Whitespace-minified with non-ASCII characters escaped (esbuild
//    leaves those of regular expression literals; the build warns about them): the launcher reads an
//    ASCII bundle as latin1, which Node keeps as an external one-byte string outside V8's heap.
//  - dist/<name>-bundle.js.v8cache: a V8 code cache of the bundle, made by evaluating it once with the same
//    node (the launcher replaces it with a fuller one after its first run).
// Version and git revision are baked in. esbuild's `build` is passed in so that it resolves from the app.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";

function gitRevision() {
  if (process.env.CONTAINERTS_REVISION) return process.env.CONTAINERTS_REVISION;
  try {
    return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

/**
 * grpc-js requires @grpc/proto-loader (and with it protobufjs, ~12% of a bundle) only to serve the channelz
 * admin service and ORCA load reports, neither of which we use: a stub that says so replaces it.
 */
function noProtoLoader(program) {
  return {
    name: "no-proto-loader",
    setup(b) {
      b.onResolve({ filter: /^@grpc\/proto-loader$/ }, () => ({ path: "@grpc/proto-loader", namespace: "stub" }));
      b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
        contents: `exports.loadSync = () => { throw new Error(${JSON.stringify(`${program} does not bundle @grpc/proto-loader (grpc-js channelz and ORCA are not used)`)}); };`,
        loader: "js",
      }));
    },
  };
}

/**
 * Code compiled through node:vm cannot run `import()` (no dynamic-import callback). A dynamic import of a
 * Node built-in anywhere in the packages becomes a bundled `require` wrapper, so it keeps working.
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

/**
 * Bundles `<appDir>/dist/main.js` into `<appDir>/dist/<name>-bundle.js`, stamps its id, and runs the
 * launcher `<appDir>/bin/<program>` once with CONTAINERTS_CODE_CACHE=build to write the code cache.
 */
export async function buildLauncherBundle({ build, appDir, program, name, plugins = [], define = {}, legacyOutputs = [], cacheStdio = "inherit" }) {
  const pkg = JSON.parse(readFileSync(`${appDir}package.json`, "utf8"));
  const outfile = `${appDir}dist/${name}-bundle.js`;
  await build({
    entryPoints: [`${appDir}dist/main.js`],
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
    plugins: [...plugins, noProtoLoader(program), dynamicBuiltins],
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
      __CONTAINERTS_REVISION__: JSON.stringify(gitRevision()),
      ...define,
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

  for (const f of legacyOutputs) rmSync(`${appDir}dist/${f}`, { force: true });

  // Evaluate the bundle once, without running the program, to write the code cache.
  rmSync(`${outfile}.v8cache`, { force: true });
  try {
    execFileSync(process.execPath, [`${appDir}bin/${program}`], { env: { ...process.env, CONTAINERTS_CODE_CACHE: "build" }, stdio: cacheStdio });
  } catch (err) {
    // The launcher then compiles the bundle and writes the cache on its first run.
    console.warn(`could not write the code cache (${err.message}); the first ${program} run will`);
  }
}
