import { createReadStream, fstatSync } from "node:fs";

import type { Command } from "commander";
import { isAlreadyExists, withContext } from "@containerts/errdefs";

import { CommandError, withClient } from "../../cli.js";
import { Progress } from "./progress.js";
import { parseDigestArg } from "./shared.js";

/** True when `fd` is a regular file (which can be read from an offset). */
function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

/** Largest piece handed to one Write request (containerd's copy buffer). */
const chunkSize = 1 << 20;

/**
 * Reads stdin in chunks of exactly 1 MiB (the last may be shorter): a regular file from `start`, anything
 * else (pipe, terminal) through `process.stdin`.
 */
async function* stdinChunks(start: number, seekable: boolean): AsyncGenerator<Buffer> {
  const stream = seekable ? createReadStream("", { fd: 0, autoClose: false, highWaterMark: chunkSize, start }) : process.stdin;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  for await (const data of stream as AsyncIterable<Buffer>) {
    pending.push(data);
    pendingLen += data.byteLength;
    if (pendingLen < chunkSize) continue;
    let all = pending.length === 1 ? data : Buffer.concat(pending, pendingLen);
    while (all.byteLength >= chunkSize) {
      yield all.subarray(0, chunkSize);
      all = all.subarray(chunkSize);
    }
    pending = all.byteLength > 0 ? [all] : [];
    pendingLen = all.byteLength;
  }
  if (pendingLen > 0) yield Buffer.concat(pending, pendingLen);
}

/**
 * `content ingest [--expected-size N] [--expected-digest D] <ref>`: writes stdin into the content store
 * under the ingest `ref` and commits it (ctr's `content.WriteBlob`). Content that exists already counts
 * as success. A previous, interrupted ingest of the same ref is resumed when stdin is a regular file
 * (read from the offset the server reports); with a pipe it is restarted from zero, and one whose data
 * is complete (a shared blob) is committed without reading stdin. On a terminal, progress is shown.
 */
export function register(c: Command): void {
  c.command("ingest")
    .description("accept content into the store")
    .argument("[ref]", "<key>")
    .option("--expected-size <size>", "validate against provided size", "0")
    .option("--expected-digest <digest>", "verify content against expected digest", "")
    .action(async (ref: string | undefined, opts: { expectedSize: string; expectedDigest: string }, cmd: Command) => {
      const expectedSize = Number(opts.expectedSize);
      if (!Number.isSafeInteger(expectedSize)) throw new CommandError(`invalid value "${opts.expectedSize}" for flag -expected-size`);
      const expected = opts.expectedDigest === "" ? undefined : parseDigestArg(opts.expectedDigest);
      if (ref === undefined || ref === "") throw new CommandError("must specify a transaction reference");
      await withClient(cmd, async (client, ctx) => {
        const store = client.content;
        let writer;
        try {
          writer = await store.writer(ctx, { ref, ...(expectedSize > 0 ? { total: expectedSize } : {}), ...(expected ? { expected } : {}) });
        } catch (err) {
          if (isAlreadyExists(err)) return;
          throw err;
        }
        const progress = process.stdout.isTTY ? new Progress(process.stdout, ref, expectedSize) : undefined;
        try {
          let start = writer.offset;
          const complete = start > 0 && expected !== undefined && start === expectedSize;
          if (!complete) {
            const seekable = isRegularFile(0);
            if (start > 0 && !seekable) {
              await writer.truncate(0);
              start = 0;
            }
            progress?.add(start);
            for await (const chunk of stdinChunks(start, seekable)) {
              await writer.write(chunk);
              progress?.add(chunk.byteLength);
            }
          } else {
            progress?.add(start);
          }
          if (expectedSize > 0 && writer.offset < expectedSize) {
            throw new CommandError(`failed to copy: failed to read expected number of bytes: unexpected EOF`);
          }
          try {
            await writer.commit(expectedSize, expected);
          } catch (err) {
            if (!isAlreadyExists(err)) throw withContext(err, `failed commit on ref ${JSON.stringify(ref)}`);
          }
          progress?.finish("done");
        } catch (err) {
          progress?.finish("failed");
          throw err;
        } finally {
          await writer.close();
        }
      });
    });
}
