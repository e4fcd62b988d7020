import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isInvalidArgument, isNotFound } from "@containerts/errdefs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadExternalPlugins } from "./external.js";
import { initPlugins } from "./init-plugins.js";
import { createRegistry } from "./registry.js";

let dir: string;

/** Writes an ESM package `name` under `<dir>/node_modules` and returns the path of its entry file. */
async function writePackage(name: string, source: string): Promise<string> {
  const pkgDir = join(dir, "node_modules", name);
  await mkdir(pkgDir, { recursive: true });
  await writeFile(
    join(pkgDir, "package.json"),
    JSON.stringify({ name, version: "1.0.0", type: "module", exports: { ".": "./index.js" } }),
  );
  await writeFile(join(pkgDir, "index.js"), source);
  return join(pkgDir, "index.js");
}

/** Imports bare package names as if from `<dir>`, as the daemon's importer resolves from its own location. */
const importFromDir = async (specifier: string): Promise<unknown> => {
  const resolved = createRequire(join(dir, "daemon.js")).resolve(specifier);
  return import(pathToFileURL(resolved).href);
};

const goodPlugin = `
const SKIP = Symbol.for("containerts.plugin-registry.skip");
class Skip extends Error { get [SKIP]() { return true; } }
export const plugins = [
  {
    type: "io.example.widget.v1",
    id: "widget",
    requires: ["io.containerd.content.v1"],
    config: { size: 1 },
    init: async (ic) => ({ widget: ic.config.size, content: ic.getSingle("io.containerd.content.v1") }),
  },
  { type: "io.example.widget.v1", id: "shy", init: async () => { throw new Skip("no widgets here: skip plugin"); } },
];
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "plugin-registry-external-"));
  await writePackage("example-widget-plugin", goodPlugin);
  await writePackage(
    "example-default-plugin",
    `export default [{ type: "io.example.gadget.v1", id: "gadget", init: async () => "gadget" }];`,
  );
  await writePackage("example-empty-plugin", `export const version = "1";`);
  await writePackage("example-bad-entry-plugin", `export const plugins = [{ type: "io.example.x.v1", init: 5 }];`);
  await writePackage("example-not-array-plugin", `export const plugins = { type: "t", id: "x" };`);
  await writePackage("example-throwing-plugin", `throw new Error("cannot start without a license");`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (err === undefined) throw new Error("expected a rejection");
  return err;
}

describe("loadExternalPlugins", () => {
  it("loads the plugins array and the default export of packages, in order, and they initialize", async () => {
    const regs = await loadExternalPlugins(["example-widget-plugin", "example-default-plugin"], importFromDir);
    expect(regs.map((r) => `${r.type}.${r.id}`)).toEqual([
      "io.example.widget.v1.widget",
      "io.example.widget.v1.shy",
      "io.example.gadget.v1.gadget",
    ]);
    const registry = createRegistry([
      ...regs,
      { type: "io.containerd.content.v1", id: "content", init: async () => "content-store" },
    ]);
    const set = await initPlugins(registry, {
      root: "/r",
      state: "/s",
      pluginConfig: { "io.example.widget.v1.widget": { size: 7 } },
    });
    expect(set.results.map((r) => `${r.id} ${r.status}`)).toEqual([
      "content ok",
      "widget ok",
      "shy skip",
      "gadget ok",
    ]);
    expect(set.get("io.example.widget.v1", "widget")?.instance).toEqual({ widget: 7, content: "content-store" });
  });

  it("imports an absolute path with the default importer", async () => {
    const entry = join(dir, "node_modules", "example-default-plugin", "index.js");
    const regs = await loadExternalPlugins([entry]);
    expect(regs.map((r) => r.id)).toEqual(["gadget"]);
  });

  it("fails with NotFound naming a package that cannot be found", async () => {
    const err = await failure(loadExternalPlugins(["example-widget-plugin", "example-missing-plugin"], importFromDir));
    expect(isNotFound(err)).toBe(true);
    expect(err.message).toMatch(/^external plugin package "example-missing-plugin" \(cannot be loaded: .*example-missing-plugin/);
    expect(err.message).toMatch(/: not found$/);
  });

  it("fails naming a missing package with the default importer", async () => {
    const err = await failure(loadExternalPlugins(["@containerts/no-such-plugin-package"]));
    expect(isNotFound(err)).toBe(true);
    expect(err.message).toContain('external plugin package "@containerts/no-such-plugin-package"');
  });

  it("fails naming a package that throws while loading", async () => {
    const err = await failure(loadExternalPlugins(["example-throwing-plugin"], importFromDir));
    expect(err.message).toBe(
      'external plugin package "example-throwing-plugin": cannot be loaded: cannot start without a license',
    );
  });

  it.each([
    ["example-empty-plugin", 'exports no plugins (expected an export "plugins" or a default export that is an array'],
    ["example-not-array-plugin", 'export "plugins" is an object, not an array'],
    ["example-bad-entry-plugin", "plugins[0]: no id, no init function"],
  ])("rejects %s, which exports nothing usable", async (pkg, reason) => {
    const err = await failure(loadExternalPlugins([pkg], importFromDir));
    expect(isInvalidArgument(err)).toBe(true);
    expect(err.message).toContain(`external plugin package "${pkg}": ${reason}`);
  });

  it("uses a custom importer and rejects an empty plugin list", async () => {
    const seen: string[] = [];
    const importer = async (s: string) => {
      seen.push(s);
      return s === "one" ? { plugins: [{ type: "t", id: "one", init: async () => 1 }] } : { plugins: [] };
    };
    expect((await loadExternalPlugins(["one"], importer)).map((r) => r.id)).toEqual(["one"]);
    const err = await failure(loadExternalPlugins(["one", "none"], importer));
    expect(err.message).toBe('external plugin package "none": plugins is an empty array: invalid argument');
    expect(seen).toEqual(["one", "one", "none"]);
  });
});
