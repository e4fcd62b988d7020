/**
 * Content end to end: the built containertsd driven by the stock containerd 1.6 `ctr` and by `tsctr`
 * (ingest from a pipe, ls, get, label, active while an ingest is held open, rm), `tsctr` against a real
 * containerd 1.6, the ingest semantics through the proxy (resume, lock contention, commit
 * verification, namespaces, label limits), and crash safety (SIGKILL of the daemon during an ingest and
 * during a commit, then a restart on the same paths).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

import { digestOf, openWriter, readBlob, type ContentWriter } from "@containerts/content";
import { ProxyContentStore } from "@containerts/content/proxy";
import { kindOf } from "@containerts/errdefs";
import { background, withNamespace, type Context } from "@containerts/namespaces";
import { ctr, startContainerd, startContainertsd, tsctr, tsctrBin, type RunResult, type TestDaemon } from "@containerts/testkit";
import { credentials } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

/** Random bytes with their digest. */
function blob(size: number): { bytes: Buffer; dgst: string } {
  const bytes = randomBytes(size);
  return { bytes, dgst: `sha256:${createHash("sha256").update(bytes).digest("hex")}` };
}

/** Runs a CLI with binary stdin and captures binary stdout. */
function runBinary(cmd: string, args: readonly string[], input?: Buffer): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

/** The CLI under test: the stock ctr or tsctr, with the same argument conventions. */
type Cli = (d: { address: string }, args: readonly string[], opts?: { namespace?: string; input?: string | Buffer }) => Promise<RunResult>;

const clis: [string, string, Cli][] = [
  ["stock ctr", "ctr", ctr],
  ["tsctr", tsctrBin, tsctr],
];

async function ok(cli: Cli, d: TestDaemon, args: string[], namespace: string, input?: Buffer): Promise<string> {
  const r = await cli(d, args, { namespace, ...(input === undefined ? {} : { input }) });
  if (r.code !== 0) throw new Error(`${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}\ndaemon:\n${d.logs().slice(-4000)}`);
  return r.stdout;
}

/** Polls `check` until it returns a value (not undefined), or fails after `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A `ctr content ingest` whose stdin the test controls (a slow writer). */
function heldIngest(bin: string, d: TestDaemon, namespace: string, ref: string): ChildProcess {
  return spawn(bin, ["--address", d.address, "--namespace", namespace, "content", "ingest", ref], { stdio: ["pipe", "pipe", "pipe"] });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once("exit", (code) => r(code)));
}

function proxyOf(d: TestDaemon): ProxyContentStore {
  return new ProxyContentStore({
    address: `unix://${d.address}`,
    credentials: credentials.createInsecure(),
    options: { "grpc.max_receive_message_length": 16 << 20, "grpc.max_send_message_length": 16 << 20 },
  });
}

const nsCtx = (ns: string, signal?: AbortSignal): Context => withNamespace(background(signal), ns);

/** A garbage collector that does not run during a test (first run and any triggered run an hour away). */
const NO_GC_CONFIG = '[plugins."io.containerd.gc.v1.scheduler"]\n  startup_delay = "1h"\n  schedule_delay = "1h"\n';

describe("content through the CLIs against containertsd", () => {
  let d: TestDaemon;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    // `ctr content ingest` takes no lease: a blob is garbage until the test labels it. No collection may
    // run in between, so this daemon's collector waits an hour for its first run and after any trigger.
    d = await startContainertsd({ config: NO_GC_CONFIG });
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
        process.kill(c.pid, "SIGKILL");
        await exited(c);
      }
    }
  });
  afterAll(async () => {
    await d?.cleanup();
  });

  for (const [name, bin, cli] of clis) {
    it(`${name}: ingest from a pipe, ls, get, label, rm`, async () => {
      const ns = name === "tsctr" ? "ts-content" : "ctr-content";
      const { bytes, dgst } = blob(3_000_000);
      await ok(cli, d, ["content", "ingest", "--expected-size", "3000000", "--expected-digest", dgst, "ref-1"], ns, bytes);
      // Keep it from the garbage collector (ctr's ingest takes no lease).
      expect((await ok(cli, d, ["content", "label", dgst, "containerd.io/gc.root=test"], ns)).trim()).toBe("containerd.io/gc.root=test");

      const ls = await ok(cli, d, ["content", "ls"], ns);
      expect(ls.split("\n")[0]).toMatch(/^DIGEST\t+SIZE\t+AGE\t+LABELS$/);
      expect(ls).toMatch(new RegExp(`^${dgst}\\t+3MB\\t+[^\\t]+\\t+containerd.io/gc.root=test$`, "m"));
      expect((await ok(cli, d, ["content", "ls", "-q"], ns)).trim()).toBe(dgst);
      expect((await ok(cli, d, ["content", "ls", "-q", "labels.nope"], ns)).trim()).toBe("");

      const got = await runBinary(bin, ["--address", d.address, "--namespace", ns, "content", "get", dgst]);
      expect(got.code).toBe(0);
      expect(got.stdout.equals(bytes)).toBe(true);

      const labelled = (await ok(cli, d, ["content", "label", dgst, "a=b", "c=d"], ns)).trim();
      expect(labelled.split(",").sort()).toEqual(["a=b", "c=d", "containerd.io/gc.root=test"]);
      expect((await ok(cli, d, ["content", "label", dgst, "c="], ns)).trim().split(",").sort()).toEqual(["a=b", "containerd.io/gc.root=test"]);
      expect(await ok(cli, d, ["content", "ls"], ns)).toMatch(/a=b/);

      // Ingesting existing content again succeeds silently.
      expect(await ok(cli, d, ["content", "ingest", "--expected-digest", dgst, "ref-2"], ns, bytes)).toBe("");

      // A wrong expected digest fails and publishes nothing.
      const other = blob(10).dgst;
      const bad = await cli(d, ["content", "ingest", "--expected-digest", other, "ref-bad"], { namespace: ns, input: blob(100).bytes });
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("unexpected commit digest");
      expect(await ok(cli, d, ["content", "ls", "-q"], ns)).not.toContain(other);

      expect((await ok(cli, d, ["content", "rm", dgst], ns)).trim()).toBe(dgst);
      expect((await ok(cli, d, ["content", "ls", "-q"], ns)).trim()).toBe("");
      // Removing what is not there is not an error (and prints nothing).
      expect(await ok(cli, d, ["content", "rm", dgst], ns)).toBe("");
      const res = await runBinary(bin, ["--address", d.address, "--namespace", ns, "content", "get", dgst]);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain("not found");
    });

    it(`${name}: content active shows an ingest held open by a slow writer`, async () => {
      const ns = name === "tsctr" ? "ts-active" : "ctr-active";
      const { bytes, dgst } = blob(3 << 20);
      const child = heldIngest(bin, d, ns, "slow-ref");
      children.push(child);
      let stderr = "";
      child.stderr?.setEncoding("utf8").on("data", (s: string) => (stderr += s));
      // More than one copy buffer (1 MiB), so that at least one WRITE reaches the daemon; then hold.
      child.stdin?.write(bytes.subarray(0, (1 << 20) + 12345));
      const line = await until("the ingest in content active", async () => {
        const out = await ok(cli, d, ["content", "active"], ns);
        expect(out.split("\n")[0]).toMatch(/^REF\t+SIZE\t+AGE\t*$/);
        return out.split("\n").find((l) => l.startsWith("slow-ref\t") && !/\t0B\t/.test(l));
      });
      expect(line).toMatch(/^slow-ref\t+1\.049MB\t+[^\t]+\t*$/);
      // The ingest is visible through the API with its offset, and no blob exists yet.
      const proxy = proxyOf(d);
      try {
        expect((await proxy.status(nsCtx(ns), "slow-ref")).offset).toBe(1 << 20);
        expect(await proxy.listStatuses(nsCtx(ns), ["ref==slow-ref"])).toHaveLength(1);
      } finally {
        proxy.close();
      }
      child.stdin?.end(bytes.subarray((1 << 20) + 12345));
      expect(await exited(child)).toBe(0);
      expect(stderr).toBe("");
      expect((await ok(cli, d, ["content", "active"], ns)).trim().split("\n")).toHaveLength(1);
      expect(await ok(cli, d, ["content", "ls", "-q"], ns)).toContain(dgst);
    });
  }

  it("tsctr and ctr print the same content ls and active tables", async () => {
    const ns = "same-tables";
    const blobs = [blob(1), blob(1000), blob(1_048_576), blob(12_345_678)];
    for (const [i, b] of blobs.entries()) {
      await ok(ctr, d, ["content", "ingest", `same-${i}`], ns, b.bytes);
      await ok(ctr, d, ["content", "label", b.dgst, "containerd.io/gc.root=x"], ns);
    }
    // The AGE column may tick between the two runs: retry until both see the same second.
    const same = async (args: string[]) => {
      let pair: [string, string] = ["", ""];
      for (let i = 0; i < 5; i++) {
        pair = await Promise.all([ok(ctr, d, args, ns), ok(tsctr, d, args, ns)]);
        if (pair[0] === pair[1]) break;
      }
      expect(pair[1]).toBe(pair[0]);
    };
    await same(["content", "ls"]);
    await same(["content", "active"]);
  });
});

describe("tsctr against containerd 1.6", () => {
  let cd: TestDaemon | undefined;
  afterAll(async () => {
    await cd?.cleanup();
  });

  it("lists, reads, labels and removes content written by the stock ctr", async () => {
    cd = await startContainerd({ config: NO_GC_CONFIG });
    const ns = "tsctr-vs-containerd";
    const blobs = [blob(5), blob(2_000_000)];
    for (const [i, b] of blobs.entries()) await ok(ctr, cd, ["content", "ingest", `r${i}`], ns, b.bytes);
    await ok(ctr, cd, ["content", "label", blobs[0]!.dgst, "k=v", "containerd.io/gc.root=x"], ns);
    await ok(ctr, cd, ["content", "label", blobs[1]!.dgst, "containerd.io/gc.root=x"], ns);
    // ctr prints labels in Go's random map order; tsctr sorts them. The AGE column may tick between runs.
    const norm = (out: string) => out.replace(/(containerd\.io\/gc\.root=x),(k=v)/, "$2,$1");
    let pair: [string, string] = ["", ""];
    for (let i = 0; i < 5; i++) {
      pair = await Promise.all([ok(ctr, cd, ["content", "ls"], ns), ok(tsctr, cd, ["content", "ls"], ns)]);
      if (norm(pair[0]) === norm(pair[1])) break;
    }
    expect(norm(pair[1])).toBe(norm(pair[0]));
    const got = await runBinary(tsctrBin, ["--address", cd.address, "--namespace", ns, "content", "get", blobs[1]!.dgst]);
    expect(got.stdout.equals(blobs[1]!.bytes)).toBe(true);
    expect((await ok(tsctr, cd, ["content", "rm", blobs[0]!.dgst], ns)).trim()).toBe(blobs[0]!.dgst);
    expect((await ok(ctr, cd, ["content", "ls", "-q"], ns)).trim()).toBe(blobs[1]!.dgst);
  });
});

describe("ingest semantics through the proxy", () => {
  let d: TestDaemon;
  let store: ProxyContentStore;

  beforeAll(async () => {
    // Some blobs here are committed without a gc.root label or lease, then used: no collection may run.
    d = await startContainertsd({ config: NO_GC_CONFIG });
    store = proxyOf(d);
  });
  afterAll(async () => {
    store?.close();
    await d?.cleanup();
  });

  it("resumes an interrupted ingest from the offset the server reports", async () => {
    const ctx = nsCtx("resume");
    const { bytes, dgst } = blob(5 << 20);
    const ac = new AbortController();
    const w1 = await store.writer(nsCtx("resume", ac.signal), { ref: "resumable", total: bytes.byteLength, expected: dgst });
    await w1.write(bytes.subarray(0, 3 << 20));
    ac.abort(); // the connection drops mid-ingest
    await w1.close().catch(() => undefined);

    const w2 = await openWriter(store, ctx, { ref: "resumable", total: bytes.byteLength, expected: dgst });
    try {
      expect(w2.offset).toBe(3 << 20);
      expect(w2.digest()).toBe(digestOf(bytes.subarray(0, 3 << 20)));
      expect((await store.status(ctx, "resumable")).offset).toBe(3 << 20);
      await w2.write(bytes.subarray(w2.offset));
      await w2.commit(bytes.byteLength, dgst);
    } finally {
      await w2.close();
    }
    expect(Buffer.from(await readBlob(store, ctx, dgst)).equals(bytes)).toBe(true);
    await expect(store.status(ctx, "resumable")).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
  });

  it("lets one of two concurrent writers on a ref win; the other gets UNAVAILABLE", async () => {
    const ctx = nsCtx("contended");
    const results = await Promise.allSettled([store.writer(ctx, { ref: "one-ref" }), store.writer(ctx, { ref: "one-ref" })]);
    const won = results.filter((r): r is PromiseFulfilledResult<ContentWriter> => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    try {
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(kindOf(lost[0]!.reason)).toBe("Unavailable");
      expect(String(lost[0]!.reason)).toMatch(/ref contended\/\d+\/one-ref locked for .*: unavailable/);
    } finally {
      for (const w of won) await w.value.close();
    }
  });

  it("rejects a commit with the wrong size or digest and publishes nothing", async () => {
    const ctx = nsCtx("verify");
    const { bytes, dgst } = blob(100_000);
    const wrong = blob(10).dgst;
    for (const [size, expected, message] of [
      [99_999, dgst, "unexpected commit size 100000, expected 99999"],
      [100_000, wrong, `unexpected commit digest ${dgst}, expected ${wrong}`],
    ] as const) {
      const w = await store.writer(ctx, { ref: "verify" });
      try {
        if (w.offset === 0) await w.write(bytes);
        const err = await w.commit(size, expected).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(kindOf(err)).toBe("FailedPrecondition");
        expect(String(err)).toContain(message);
      } finally {
        await w.close();
      }
      await expect(store.info(ctx, dgst)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
      await expect(store.info(ctx, wrong)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
      const listed: string[] = [];
      await store.walk(ctx, (i) => void listed.push(i.digest));
      expect(listed).toEqual([]);
      // The ingest is kept, complete and resumable.
      expect((await store.status(ctx, "verify")).offset).toBe(100_000);
    }
    await store.abort(ctx, "verify");
  });

  it("keeps a blob of namespace A invisible in namespace B until B ingests it", async () => {
    const a = nsCtx("ns-a");
    const b = nsCtx("ns-b");
    const { bytes, dgst } = blob(200_000);
    const w = await store.writer(a, { ref: "shared", total: bytes.byteLength, expected: dgst });
    await w.write(bytes);
    await w.commit(bytes.byteLength, dgst, { labels: { "containerd.io/gc.root": "a" } });
    expect((await store.info(a, dgst)).size).toBe(bytes.byteLength);
    await expect(store.info(b, dgst)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
    await expect(readBlob(store, b, dgst)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
    await expect(store.delete(b, dgst)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
    const listed: string[] = [];
    await store.walk(b, (i) => void listed.push(i.digest));
    expect(listed).toEqual([]);

    // B ingests it: the shared policy reports the blob complete; committing links it into B.
    const wb = await store.writer(b, { ref: "shared-b", total: bytes.byteLength, expected: dgst });
    expect(wb.offset).toBe(bytes.byteLength);
    await wb.commit(bytes.byteLength, dgst, { labels: { mine: "b" } });
    expect((await store.info(b, dgst)).labels).toEqual({ mine: "b" });
    expect((await store.info(a, dgst)).labels).toEqual({ "containerd.io/gc.root": "a" });
    await store.delete(b, dgst);
    expect((await store.info(a, dgst)).size).toBe(bytes.byteLength);
  });

  it("rejects labels over the size limit with INVALID_ARGUMENT", async () => {
    const ctx = nsCtx("labels");
    const { bytes, dgst } = blob(1000);
    const big = { huge: "x".repeat(4096) };
    const w = await store.writer(ctx, { ref: "labels" });
    await w.write(bytes);
    const err = await w.commit(0, dgst, { labels: big }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(kindOf(err)).toBe("InvalidArgument");
    expect(String(err)).toContain("label key and value greater than maximum size (4096 bytes), key: huge");
    await expect(store.info(ctx, dgst)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");

    const w2 = await store.writer(ctx, { ref: "labels" });
    await w2.commit(0, dgst, { labels: { ok: "x".repeat(4000) } });
    const upd = await store.update(ctx, { digest: dgst, labels: big }, ["labels.huge"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(kindOf(upd)).toBe("InvalidArgument");
    expect(Object.keys((await store.info(ctx, dgst)).labels)).toEqual(["ok"]);
  });
});

describe("crash safety (SIGKILL of containertsd)", () => {
  const daemons: TestDaemon[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0).reverse()) await d.cleanup();
  });

  /** Files under the daemon's blob directory. */
  async function blobFiles(d: TestDaemon): Promise<string[]> {
    return readdir(join(d.root, "io.containerd.content.v1.content", "blobs", "sha256")).catch(() => []);
  }

  it("leaves no partial blob after a kill during an ingest; the ingest resumes or aborts cleanly", async () => {
    const d1 = await startContainertsd();
    daemons.push(d1);
    const ctx = nsCtx("crash");
    const { bytes, dgst } = blob(6 << 20);
    const s1 = proxyOf(d1);
    for (const ref of ["crash-resume", "crash-abort"]) {
      const w = await s1.writer(ctx, { ref, total: bytes.byteLength, expected: dgst });
      await w.write(bytes.subarray(0, 4 << 20));
    }
    await d1.kill();
    s1.close();

    const d2 = await startContainertsd({ dir: d1.dir });
    daemons.push(d2);
    const s2 = proxyOf(d2);
    try {
      await expect(s2.info(ctx, dgst)).rejects.toSatisfy((e) => kindOf(e) === "NotFound");
      expect(await blobFiles(d2)).toEqual([]);
      expect((await ok(ctr, d2, ["content", "ls", "-q"], "crash")).trim()).toBe("");
      const statuses = await s2.listStatuses(ctx);
      expect(statuses.map((s) => s.ref).sort()).toEqual(["crash-abort", "crash-resume"]);
      for (const s of statuses) expect(s.offset).toBeLessThanOrEqual(4 << 20);

      await s2.abort(ctx, "crash-abort");
      const w = await s2.writer(ctx, { ref: "crash-resume", total: bytes.byteLength, expected: dgst });
      try {
        // Whatever reached the disk before the kill is a prefix of the data: resume from there.
        expect(w.digest()).toBe(digestOf(bytes.subarray(0, w.offset)));
        await w.write(bytes.subarray(w.offset));
        // A root label: this daemon's collector runs (the abort above triggers it), and the blob is read next.
        await w.commit(bytes.byteLength, dgst, { labels: { "containerd.io/gc.root": "x" } });
      } finally {
        await w.close();
      }
      expect(Buffer.from(await readBlob(s2, ctx, dgst)).equals(bytes)).toBe(true);
      expect(await s2.listStatuses(ctx)).toEqual([]);
    } finally {
      s2.close();
    }
  });

  it("never shows a partial blob after a kill during a commit; the database opens cleanly", async () => {
    // A large blob makes the commit (fsync of the data, publish, metadata write) take a while; the kill
    // lands before, during or after it. Every outcome must be consistent.
    const outcomes: string[] = [];
    let dir: string | undefined;
    for (const delayMs of [0, 20, 80]) {
      const d1 = await startContainertsd(dir === undefined ? {} : { dir });
      daemons.push(d1);
      dir = d1.dir;
      const ns = `commit-${delayMs}`;
      const ctx = nsCtx(ns);
      const { bytes, dgst } = blob(160 << 20);
      const s1 = proxyOf(d1);
      const w = await s1.writer(ctx, { ref: "big", total: bytes.byteLength, expected: dgst });
      for (let at = 0; at < bytes.byteLength; at += 1 << 20) await w.write(bytes.subarray(at, at + (1 << 20)));
      const committing = w.commit(bytes.byteLength, dgst, { labels: { "containerd.io/gc.root": "x" } }).then(
        () => "committed",
        (e: unknown) => `failed: ${String(e)}`,
      );
      await new Promise((r) => setTimeout(r, delayMs));
      await d1.kill();
      const client = await committing;
      s1.close();

      const d2 = await startContainertsd({ dir });
      daemons.push(d2);
      const s2 = proxyOf(d2);
      try {
        const visible = await s2.info(ctx, dgst).then(
          (i) => i,
          (e: unknown) => {
            expect(kindOf(e)).toBe("NotFound");
            return undefined;
          },
        );
        if (visible !== undefined) {
          // Visible means complete and intact.
          expect(visible.size).toBe(bytes.byteLength);
          const back = Buffer.from(await readBlob(s2, ctx, dgst));
          expect(createHash("sha256").update(back).digest("hex")).toBe(dgst.slice(7));
          expect(await s2.listStatuses(ctx)).toEqual([]);
          outcomes.push(`${delayMs}ms: visible (client saw ${client})`);
        } else {
          // Not visible: the ingest is still there (resumable, or abortable), or the commit never started.
          const statuses = await s2.listStatuses(ctx);
          if (statuses.length > 0) {
            const ww = await s2.writer(ctx, { ref: "big", total: bytes.byteLength, expected: dgst });
            try {
              expect(ww.digest()).toBe(digestOf(bytes.subarray(0, ww.offset)));
              await ww.write(bytes.subarray(ww.offset));
              await ww.commit(bytes.byteLength, dgst, { labels: { "containerd.io/gc.root": "x" } });
            } finally {
              await ww.close();
            }
            expect((await s2.info(ctx, dgst)).size).toBe(bytes.byteLength);
            outcomes.push(`${delayMs}ms: ingest kept and resumed`);
          } else {
            outcomes.push(`${delayMs}ms: nothing left`);
          }
          expect(client).not.toBe("committed");
        }
        // The blob directory holds only complete, correctly named blobs.
        for (const f of await blobFiles(d2)) {
          const st = await stat(join(d2.root, "io.containerd.content.v1.content", "blobs", "sha256", f));
          expect(st.size).toBe(bytes.byteLength);
        }
      } finally {
        s2.close();
      }
      // The next round restarts on the same paths; afterEach removes them.
      await d2.stop();
    }
    expect(outcomes).toHaveLength(3);
  }, 240_000);
});
