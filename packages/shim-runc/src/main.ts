/**
 * The `containerd-shim-tsrunc-v1` program: parses the command line and runs `start`, `delete`, or the
 * server. The actions load lazily, so `start` (on every container start's path) loads little.
 */
import { writeSync } from "node:fs";
import { basename } from "node:path";
import { parseFlags, type ShimFlags } from "./flags.js";
import { SHIM_BINARY, versionText } from "./version.js";

function fail(message: string, code = 1): never {
  try {
    writeSync(2, `${SHIM_BINARY}: ${message}\n`);
  } catch {
    // nowhere to report
  }
  process.exit(code);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs the program with `argv` (without node and the script). */
export async function main(argv: readonly string[], script: string): Promise<void> {
  let flags: ShimFlags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    fail(errorMessage(err), 2);
  }
  if (flags.version) {
    writeSync(1, versionText(basename(script)));
    process.exit(0);
  }
  switch (flags.action) {
    case "start": {
      try {
        const { runStart, readStdin } = await import("./start.js");
        const address = await runStart(flags, { bundle: process.cwd(), script, stdin: await readStdin() });
        writeSync(1, address);
      } catch (err) {
        fail(errorMessage(err));
      }
      process.exit(0);
    }
    // eslint-disable-next-line no-fallthrough
    case "delete": {
      try {
        const [{ runDelete, deleteBundle }, { createLogger }, { encodeDeleteResponse, DELETED_NOTE }, { readFile }, { join }] = await Promise.all([
          import("./delete.js"),
          import("./log.js"),
          import("./grpc/delete-response.js"),
          import("node:fs/promises"),
          import("node:path"),
        ]);
        // After a clean Delete the server left the response in the bundle: nothing is left to clean.
        const note = await readFile(join(deleteBundle(flags), DELETED_NOTE)).catch(() => undefined);
        if (note !== undefined) {
          writeSync(1, note);
          process.exit(0);
        }
        const r = await runDelete(flags, createLogger({ debug: flags.debug }));
        writeSync(1, encodeDeleteResponse(r));
      } catch (err) {
        fail(errorMessage(err));
      }
      process.exit(0);
    }
    // eslint-disable-next-line no-fallthrough
    case "": {
      try {
        const { runServe } = await import("./serve.js");
        process.exit(await runServe(flags));
      } catch (err) {
        fail(errorMessage(err));
      }
    }
    // eslint-disable-next-line no-fallthrough
    default:
      fail(`unknown action ${JSON.stringify(flags.action)}`, 2);
  }
}
