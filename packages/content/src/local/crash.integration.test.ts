import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { background } from "@containerts/namespaces";
import { afterEach, describe, expect, it } from "vitest";

import { digestOf } from "../digest.js";
import { readBlob, writeBlob } from "../helpers.js";
import { LocalContentStore } from "./store.js";

const child = fileURLToPath(new URL("./__fixtures__/crash-child.mjs", import.meta.url));
const size = 3 * 1024 * 1024 + 12345;

/** The bytes crash-child.mjs writes. */
function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8) * 7 + 11) & 0xff;
  return b;
}

interface Run {
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const running = new Set<number>();

function runChild(scenario: string, root: string, ref: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, scenario, root, ref, String(size)], {
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (p.pid !== undefined) running.add(p.pid);
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", reject);
    p.on("close", (code, signal) => {
      if (p.pid !== undefined) running.delete(p.pid);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Files under blobs/, as `<alg>/<name>`. */
async function blobFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const alg of await readdir(join(root, "blobs"))) {
    for (const name of await readdir(join(root, "blobs", alg))) out.push(`${alg}/${name}`);
  }
  return out;
}

describe("LocalContentStore crash safety (child process killed with SIGKILL)", () => {
  const dirs: string[] = [];
  const ctx = background();
  const bytes = pattern(size);
  const dgst = digestOf(bytes);

  afterEach(async () => {
    for (const pid of running) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    running.clear();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  const tempRoot = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), "containerts-crash-"));
    dirs.push(d);
    return d;
  };

  it("killed mid-write: no blob, the ingest resumes from its data and commits", async () => {
    const root = await tempRoot();
    const run = await runChild("mid-write", root, "mid");
    expect(run.signal, run.stderr).toBe("SIGKILL");
    const half = Number(/written (\d+)/.exec(run.stdout)?.[1]);
    expect(half).toBe(Math.floor(size / 2));

    const store = await LocalContentStore.open(root);
    expect(await blobFiles(root)).toEqual([]);
    const st = await store.status(ctx, "mid");
    expect(st.total).toBe(size);
    expect(st.offset).toBeGreaterThanOrEqual(half);
    expect(st.offset).toBeLessThanOrEqual(size);

    const w = await store.writer(ctx, { ref: "mid", total: size });
    try {
      expect(w.offset).toBe(st.offset);
      expect(w.digest()).toBe(digestOf(bytes.subarray(0, st.offset)));
    } finally {
      await w.close();
    }
    await writeBlob(store, ctx, "mid", bytes, { total: size, expected: dgst });
    expect(digestOf(await readBlob(store, ctx, dgst))).toBe(dgst);
    await expect(store.status(ctx, "mid")).rejects.toMatchObject({ kind: "NotFound" });
  });

  it("killed mid-write: the ingest can be aborted instead", async () => {
    const root = await tempRoot();
    const run = await runChild("mid-write", root, "mid-abort");
    expect(run.signal, run.stderr).toBe("SIGKILL");
    const store = await LocalContentStore.open(root);
    await store.abort(ctx, "mid-abort");
    expect(await store.listStatuses(ctx)).toEqual([]);
    expect(await readdir(join(root, "ingest"))).toEqual([]);
    expect(await blobFiles(root)).toEqual([]);
  });

  it("killed between the data fsync and the publish: no blob, the ingest commits on resume", async () => {
    const root = await tempRoot();
    const run = await runChild("before-publish", root, "pre");
    expect(run.signal, run.stderr).toBe("SIGKILL");

    const store = await LocalContentStore.open(root);
    expect(await blobFiles(root)).toEqual([]);
    await expect(store.info(ctx, dgst)).rejects.toMatchObject({ kind: "NotFound" });
    expect((await store.status(ctx, "pre")).offset).toBe(size);

    const w = await store.writer(ctx, { ref: "pre", total: size });
    try {
      expect(w.offset).toBe(size);
      expect(w.digest()).toBe(dgst);
      await w.commit(size, dgst);
    } finally {
      await w.close();
    }
    expect(Buffer.compare(await readBlob(store, ctx, dgst), bytes)).toBe(0);
    expect(await readdir(join(root, "ingest"))).toEqual([]);
  });

  it("killed after the publish, before the ingest is removed: complete blob, ingest cleaned on open", async () => {
    const root = await tempRoot();
    const run = await runChild("after-publish", root, "post");
    expect(run.signal, run.stderr).toBe("SIGKILL");
    expect(await blobFiles(root)).toEqual([`sha256/${dgst.slice(7)}`]);
    expect((await readdir(join(root, "ingest"))).length).toBe(1); // left behind by the crash

    const store = await LocalContentStore.open(root);
    expect(await readdir(join(root, "ingest"))).toEqual([]);
    await expect(store.status(ctx, "post")).rejects.toMatchObject({ kind: "NotFound" });
    const info = await store.info(ctx, dgst);
    expect(info.size).toBe(size);
    expect(digestOf(await readBlob(store, ctx, dgst))).toBe(dgst);
    const st = await stat(join(root, "blobs", "sha256", dgst.slice(7)));
    expect(st.mode & 0o777).toBe(0o444);
    expect(st.nlink).toBe(1);
  });
});
