// Bundles the shim into minified single-file ESM programs: dist/bin/containerd-shim-tsrunc-v1.mjs (every
// action) and dist/bin/start.mjs (`start` only). One file to read and compile makes each of the shim's
// process starts (start, the server, delete) faster than a tree of modules or code-split chunks. koffi (a native addon) stays
// external and is resolved from this package's node_modules.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
let revision = process.env.CONTAINERTS_REVISION ?? "";
if (!revision) {
  try {
    revision = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    revision = "unknown";
  }
}
// The generated service definitions import grpc-js for gRPC clients the shim never builds: replace it
// with a stub so that a megabyte of gRPC code is neither bundled nor loaded.
const GRPC_CODES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
  "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];
const stubGrpc = {
  name: "stub-grpc-js",
  setup(b) {
    b.onResolve({ filter: /^@grpc\/grpc-js$/ }, () => ({ path: "grpc-js-stub", namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents: [
        "export class Client {}",
        "export class Metadata {}",
        "export function makeGenericClientConstructor() { return class {}; }",
        // grpc-js's `status` enum: the gRPC code numbering (errdefs' mapping reads it).
        `export const status = ${JSON.stringify(Object.fromEntries(GRPC_CODES.map((c, i) => [c, i])))};`,
      ].join("\n"),
      loader: "js",
    }));
  },
};

const outdir = new URL("./dist/bin", import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: {
    "containerd-shim-tsrunc-v1": new URL("./dist/cli.js", import.meta.url).pathname,
    // The `start` action alone, which the launcher runs: less to load on every container start.
    start: new URL("./dist/start-cli.js", import.meta.url).pathname,
  },
  outdir,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: false,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  treeShaking: true,
  sourcemap: "linked",
  external: ["koffi"],
  // The generated service definitions build grpc-js clients at load time; the shim never uses them.
  pure: ["makeGenericClientConstructor"],
  banner: { js: 'import { createRequire as __ctsCreateRequire } from "node:module"; const require = __ctsCreateRequire(import.meta.url);' },
  define: {
    __CONTAINERTS_SHIM_VERSION__: JSON.stringify(pkg.version),
    __CONTAINERTS_SHIM_REVISION__: JSON.stringify(revision),
  },
  plugins: [stubGrpc],
  logLevel: "warning",
});
