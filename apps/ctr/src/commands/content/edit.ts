import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { Command } from "commander";
import { isAlreadyExists } from "@containerts/errdefs";

import { CommandError, println, withClient } from "../../cli.js";
import { parseDigestArg } from "./shared.js";

/** Runs `sh -c "<editor> <file>"` on the terminal and waits for it. */
function runEditor(editor: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", `${editor} ${file}`], { stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      code === 0 ? resolve() : reject(new CommandError(signal ? `signal: ${signal}` : `exit status ${code}`)),
    );
  });
}

/**
 * `content edit [--editor E] <digest>`: copies the blob to a temporary file, runs the editor on it, and
 * writes the result back as a new blob (ingest ref `edit-<digest>`), printing its digest. An unchanged
 * blob is not an error.
 */
export function register(c: Command): void {
  c.command("edit")
    .description("edit a blob and return a new digest")
    .argument("[digest]", "<digest>")
    .option("--validate <format>", "validate the result against a format (json, mediatype, etc.)", "")
    .option("--editor <editor>", "select editor (vim, emacs, etc.)", process.env["EDITOR"] ?? "")
    .action(async (object: string | undefined, opts: { validate: string; editor: string }, cmd: Command) => {
      if (opts.validate !== "") throw new CommandError("validating the edit result not supported");
      const dgst = parseDigestArg(object ?? "");
      await withClient(cmd, async (client, ctx) => {
        const store = client.content;
        await store.info(ctx, dgst);
        if (opts.editor === "") throw new CommandError("editor is required");
        const dir = await mkdtemp(join(process.env["XDG_RUNTIME_DIR"] || tmpdir(), "edit-"));
        try {
          const file = join(dir, "blob");
          const fh = await open(file, "w", 0o600);
          try {
            for await (const chunk of store.read(ctx, dgst)) await fh.write(chunk);
          } finally {
            await fh.close();
          }
          await runEditor(opts.editor, file);
          const w = await store.writer(ctx, { ref: `edit-${object}` });
          try {
            if (w.offset > 0) await w.truncate(0);
            for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) await w.write(chunk);
            const edited = w.digest();
            try {
              await w.commit(0, edited);
            } catch (err) {
              if (!isAlreadyExists(err)) throw err;
            }
            println(edited);
          } finally {
            await w.close();
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    });
}
