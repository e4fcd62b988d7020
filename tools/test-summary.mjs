#!/usr/bin/env node
// Sums the vitest JSON reports (test-report.json) of every workspace package and prints
// "N passed, M failed" as the last line; exits non-zero when a test failed, a test file failed to
// load, or a package with tests wrote no report.
import { readFileSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
let passed = 0, failed = 0, skipped = 0, brokenFiles = 0;
const problems = [];
for (const group of ["packages", "apps", "tools"]) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const pkg = join(dir, name);
    if (!statSync(pkg).isDirectory() || !existsSync(join(pkg, "package.json"))) continue;
    const scripts = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).scripts ?? {};
    if (!scripts.test) continue;
    const report = join(pkg, "test-report.json");
    if (!existsSync(report)) { problems.push(`${group}/${name}: no test report (did its tests run?)`); continue; }
    const r = JSON.parse(readFileSync(report, "utf8"));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    for (const f of r.testResults ?? []) {
      if (f.status === "failed" && (f.assertionResults ?? []).every((a) => a.status !== "failed")) {
        brokenFiles++;
        problems.push(`${group}/${name}: ${f.name.replace(root, "")}: ${String(f.message ?? "failed").split("\n")[0]}`);
      }
    }
  }
}
for (const p of problems) console.log(`problem: ${p}`);
if (skipped > 0) console.log(`note: ${skipped} tests skipped or todo`);
const totalFailed = failed + brokenFiles + problems.filter((p) => p.includes("no test report")).length;
console.log(`${passed} passed, ${totalFailed} failed`);
process.exit(totalFailed > 0 ? 1 : 0);
