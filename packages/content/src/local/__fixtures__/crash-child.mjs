// Child process of crash.integration.test.ts: drives a LocalContentStore (loaded from TypeScript
// source through Vite's SSR loader) into a given state, then SIGKILLs itself.
//
//   node crash-child.mjs <scenario> <root> <ref> <size>
//
// Scenarios:
//   mid-write       write about half of the blob, start another write and die while it runs
//   before-publish  write everything, commit; die after the data fsync, before the link into blobs/
//   after-publish   write everything, commit; die after the link, before the ingest is removed
// The blob's bytes are pattern(size) (see below), so the parent knows them.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { createViteServer } from "vitest/node";

const [scenario, root, ref, sizeText] = process.argv.slice(2);
const size = Number(sizeText);
const conditions = ["@containerts/source", "import", "node", "default"];
const server = await createViteServer({
  configFile: false,
  root: new URL("../../..", import.meta.url).pathname,
  logLevel: "error",
  server: { middlewareMode: true, hmr: false, ws: false, watch: null },
  optimizeDeps: { noDiscovery: true, include: [] },
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["@containerts/source"] } },
});
const { LocalContentStore } = await server.ssrLoadModule(new URL("../index.ts", import.meta.url).pathname);
const { background } = await server.ssrLoadModule("@containerts/namespaces");

/** Deterministic bytes, also computed by the parent. */
function pattern(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8) * 7 + 11) & 0xff;
  return b;
}

const die = () => process.kill(process.pid, "SIGKILL");

// Hooks on the FileHandle class the store uses: datasync runs once, at commit, just before the
// blob is published; sync runs on directories, the blob's own directory right after the link.
const probe = await open("/dev/null", "r");
const proto = Object.getPrototypeOf(probe);
await probe.close();
if (scenario === "before-publish") {
  const datasync = proto.datasync;
  proto.datasync = async function (...args) {
    await datasync.apply(this, args);
    die();
    await new Promise(() => {});
  };
}
if (scenario === "after-publish") {
  const sync = proto.sync;
  const blob = join(root, "blobs", "sha256", createHash("sha256").update(pattern(size)).digest("hex"));
  proto.sync = async function (...args) {
    await sync.apply(this, args);
    if (!existsSync(blob)) return; // an fsync of a directory before the publish
    die();
    await new Promise(() => {});
  };
}

const store = await LocalContentStore.open(root);
const ctx = background();
const bytes = pattern(size);
const w = await store.writer(ctx, { ref, total: size });
const piece = 64 * 1024;
if (scenario === "mid-write") {
  const half = Math.floor(size / 2);
  for (let i = 0; i < half; i += piece) await w.write(bytes.subarray(i, Math.min(half, i + piece)));
  process.stdout.write(`written ${half}\n`);
  void w.write(bytes.subarray(half)); // in flight when we die
  die();
} else {
  for (let i = 0; i < size; i += piece) await w.write(bytes.subarray(i, i + piece));
  await w.commit(size);
}
process.stdout.write("not killed\n");
process.exit(3);
