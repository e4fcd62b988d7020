// Bundles the compiled daemon into one ESM file (dist/containertsd.mjs): fewer module loads at start-up.
// Native addons (classic-level, koffi) stay external. Version and git revision are baked in.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
let revision = process.env.CONTAINERTS_REVISION ?? "";
if (!revision) {
  try {
    revision = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    revision = "unknown";
  }
}

await build({
  entryPoints: [new URL("./dist/main.js", import.meta.url).pathname],
  outfile: new URL("./dist/containertsd.mjs", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minifySyntax: true,
  sourcemap: "linked",
  external: ["classic-level", "koffi", "level"],
  banner: { js: 'import { createRequire as __ctsCreateRequire } from "node:module"; const require = __ctsCreateRequire(import.meta.url);' },
  define: {
    __CONTAINERTS_VERSION__: JSON.stringify(pkg.version),
    __CONTAINERTS_REVISION__: JSON.stringify(revision),
  },
  logLevel: "warning",
});
