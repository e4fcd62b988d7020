#!/usr/bin/env python3
"""Creates (or refreshes the boilerplate of) a workspace package: package.json, tsconfigs, vitest config.

Usage: tools/scaffold.py <dir> <description> <subpaths comma-separated> <workspace deps comma-separated> [npm deps]
An existing package.json keeps its scripts, dependencies and exports; only missing pieces are added.
"""
import json, os, sys

def main():
    d, desc, subs, wdeps = sys.argv[1:5]
    npm = sys.argv[5] if len(sys.argv) > 5 else ""
    name = "@containerts/" + os.path.basename(d) if d.startswith("packages/") else os.path.basename(d)
    os.makedirs(os.path.join(d, "src"), exist_ok=True)
    pj_path = os.path.join(d, "package.json")
    pj = json.load(open(pj_path)) if os.path.exists(pj_path) else {}
    pj.setdefault("name", name)
    pj.setdefault("version", "0.1.0")
    pj.setdefault("description", desc)
    pj.setdefault("license", "Apache-2.0")
    pj.setdefault("type", "module")
    pj.setdefault("sideEffects", False)
    pj.setdefault("files", ["dist"])
    exports = pj.setdefault("exports", {})
    for s in ["."] + [x for x in subs.split(",") if x]:
        key = "." if s == "." else "./" + s
        base = "index" if s == "." else s + "/index"
        exports.setdefault(key, {"@containerts/source": f"./src/{base}.ts", "types": f"./dist/{base}.d.ts", "default": f"./dist/{base}.js"})
    exports.pop("./internal/*", None)
    exports["./internal/*"] = None
    pj.setdefault("publishConfig", {"access": "public"})
    pj.setdefault("scripts", {"build": "tsc -p tsconfig.build.json", "typecheck": "tsc -p tsconfig.json --noEmit", "test": "vitest run"})
    deps = pj.setdefault("dependencies", {})
    for w in [x for x in wdeps.split(",") if x]:
        deps.setdefault("@containerts/" + w, "workspace:^")
    for n in [x for x in npm.split(",") if x]:
        deps.setdefault(n, "catalog:")
    dev = pj.setdefault("devDependencies", {})
    for n in ["@types/node", "typescript", "vitest"]:
        dev.setdefault(n, "catalog:")
    json.dump(pj, open(pj_path, "w"), indent=2)
    open(pj_path, "a").write("\n")
    w = lambda p, t: (None if os.path.exists(os.path.join(d, p)) else open(os.path.join(d, p), "w").write(t))
    w("tsconfig.json", '{ "extends": "../../tsconfig.base.json", "compilerOptions": { "noEmit": true }, "include": ["src", "test"] }\n')
    w("tsconfig.build.json", json.dumps({"extends": "../../tsconfig.base.json",
        "compilerOptions": {"rootDir": "src", "outDir": "dist", "customConditions": []},
        "include": ["src"], "exclude": ["src/**/*.test.ts"]}, indent=2) + "\n")
    w("vitest.config.ts", 'export { default } from "../../vitest.shared.ts";\n')

main()
