/**
 * Entry point of the bundled `start` program (dist/bin/start.mjs): the launcher runs it for the `start`
 * action, so that the start path loads only what it needs. The server it starts is the full program
 * beside it.
 */
import { writeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseFlags } from "./flags.js";
import { readStdin, runStart } from "./start.js";
import { SHIM_BINARY } from "./version.js";

function fail(message: string, code = 1): never {
  try {
    writeSync(2, `${SHIM_BINARY}: ${message}\n`);
  } catch {
    // nowhere to report
  }
  process.exit(code);
}

try {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.action !== "start" || flags.version) fail(`start program run for ${JSON.stringify(flags.action)}`, 2);
  const program = fileURLToPath(new URL(`./${SHIM_BINARY}.mjs`, import.meta.url));
  const address = await runStart(flags, { bundle: process.cwd(), script: program, stdin: await readStdin() });
  writeSync(1, address);
  process.exit(0);
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
