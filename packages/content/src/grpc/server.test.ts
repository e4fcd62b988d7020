import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  ContentClient,
  WriteAction,
  type InfoRequest,
  type InfoResponse,
  type ListStatusesRequest,
  type ListStatusesResponse,
  type ReadContentResponse,
  type StatusRequest,
  type StatusResponse,
  type UpdateRequest,
  type UpdateResponse,
  type WriteContentRequest,
  type WriteContentResponse,
} from "@containerts/api/services/content/v1";
import { Metadata, status as Code, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { serveContent, type Loopback } from "../../test/loopback.js";
import { digestOf, emptyDigest } from "../digest.js";
import { LocalContentStore } from "../local/store.js";

/** The outcome of a raw Write stream. */
interface WriteOutcome {
  readonly responses: WriteContentResponse[];
  readonly status: StatusObject;
}

const req = (r: Partial<WriteContentRequest>): WriteContentRequest => ({
  action: WriteAction.STAT,
  ref: "",
  total: 0n,
  expected: "",
  offset: 0n,
  data: Buffer.alloc(0),
  labels: {},
  ...r,
});

/**
 * Sends `requests` one at a time on a Write stream, waiting for each response (or the end of the
 * stream), then half-closes and collects the final status.
 */
async function rawWrite(client: ContentClient, requests: WriteContentRequest[], opts: { halfClose?: boolean } = {}): Promise<WriteOutcome> {
  const call = client.write(new Metadata());
  const responses: WriteContentResponse[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const status = new Promise<StatusObject>((resolve) => {
    call.on("status", (s: StatusObject) => {
      ended = true;
      wake?.();
      resolve(s);
    });
  });
  call.on("error", () => undefined);
  call.on("data", (r: WriteContentResponse) => {
    responses.push(r);
    wake?.();
  });
  for (const r of requests) {
    if (ended) break;
    const before = responses.length;
    call.write(r);
    await new Promise<void>((resolve) => {
      wake = () => {
        if (ended || responses.length > before) resolve();
      };
      wake();
    });
  }
  if (opts.halfClose !== false) call.end();
  return { responses, status: await status };
}

async function readAll(client: ContentClient, r: { digest: string; offset?: bigint; size?: bigint }): Promise<{ msgs: ReadContentResponse[]; error?: ServiceError }> {
  const msgs: ReadContentResponse[] = [];
  const call = client.read({ digest: r.digest, offset: r.offset ?? 0n, size: r.size ?? 0n }, new Metadata());
  try {
    for await (const m of call) msgs.push(m as ReadContentResponse);
    return { msgs };
  } catch (err) {
    return { msgs, error: err as ServiceError };
  }
}

function unaryCall<Req, Res>(fn: (r: Req, md: Metadata, cb: (e: ServiceError | null, res: Res) => void) => unknown, r: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(r, new Metadata(), (e, res) => (e ? reject(e) : resolve(res))));
}

describe("Content gRPC service (wire behaviour)", () => {
  let dir: string;
  let store: LocalContentStore;
  let server: Loopback;
  let client: ContentClient;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "content-wire-"));
    store = await LocalContentStore.open(dir);
    server = await serveContent(store);
    client = new ContentClient(server.target.address, server.target.credentials, server.target.options);
  });
  afterEach(async () => {
    client.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function ingest(bytes: Uint8Array, ref = `r-${digestOf(bytes).slice(7, 19)}`, labels: Record<string, string> = {}): Promise<string> {
    const dgst = digestOf(bytes);
    const out = await rawWrite(client, [
      req({ ref, total: BigInt(bytes.byteLength), expected: dgst }),
      req({ action: WriteAction.COMMIT, offset: 0n, total: BigInt(bytes.byteLength), expected: dgst, data: Buffer.from(bytes), labels }),
    ]);
    expect(out.status.code).toBe(Code.OK);
    return dgst;
  }

  describe("Write", () => {
    it("requires a ref on the first message", async () => {
      const out = await rawWrite(client, [req({ action: WriteAction.WRITE, data: Buffer.from("x") })]);
      expect(out.responses).toEqual([]);
      expect(out.status.code).toBe(Code.INVALID_ARGUMENT);
      expect(out.status.details).toBe("first message must have a reference");
    });

    it("answers every request once: STAT (the zero action), WRITE, COMMIT", async () => {
      const data = Buffer.from(randomBytes(3000));
      const dgst = digestOf(data);
      const out = await rawWrite(client, [
        req({ ref: "one-each", total: 3000n }),
        req({}),
        req({ action: WriteAction.WRITE, data: data.subarray(0, 1000) }),
        req({ action: WriteAction.WRITE, offset: 1000n, data: data.subarray(1000, 2000) }),
        req({ action: WriteAction.STAT }),
        req({ action: WriteAction.COMMIT, offset: 2000n, total: 3000n, expected: dgst, data: data.subarray(2000), labels: { a: "b" } }),
      ]);
      expect(out.status.code).toBe(Code.OK);
      expect(out.responses.map((r) => r.action)).toEqual([0, 0, 1, 1, 0, 2]);
      expect(out.responses.map((r) => r.offset)).toEqual([0n, 0n, 1000n, 2000n, 2000n, 3000n]);
      expect(out.responses[0]).toMatchObject({ digest: emptyDigest, total: 3000n });
      expect(out.responses[0]?.startedAt).toBeDefined();
      expect(out.responses[2]?.digest).toBe(digestOf(data.subarray(0, 1000)));
      expect(out.responses[4]?.digest).toBe(digestOf(data.subarray(0, 2000)));
      expect(out.responses[5]?.digest).toBe(dgst);
      expect((await store.info({ signal: new AbortController().signal }, dgst)).labels).toEqual({ a: "b" });
    });

    it("fails a write at the wrong offset with OUT_OF_RANGE and truncates on offset 0", async () => {
      const bad = await rawWrite(client, [req({ ref: "off" }), req({ action: WriteAction.WRITE, offset: 3n, data: Buffer.from("abc") })]);
      expect(bad.status.code).toBe(Code.OUT_OF_RANGE);
      expect(bad.status.details).toBe("write @3 must occur at current offset 0");

      const out = await rawWrite(client, [
        req({ ref: "off" }),
        req({ action: WriteAction.WRITE, data: Buffer.from("garbage") }),
        req({ action: WriteAction.WRITE, offset: 0n, data: Buffer.from("hello") }),
        req({ action: WriteAction.COMMIT, offset: 5n, total: 5n, expected: digestOf("hello") }),
      ]);
      expect(out.status.code).toBe(Code.OK);
      expect(out.responses.map((r) => r.offset)).toEqual([0n, 7n, 5n, 5n]);
    });

    it("keeps an ingest when the client half-closes before committing, and resumes it", async () => {
      const first = await rawWrite(client, [req({ ref: "resume", total: 6n }), req({ action: WriteAction.WRITE, data: Buffer.from("abc") })]);
      expect(first.status.code).toBe(Code.OK);
      const st = await unaryCall<StatusRequest, StatusResponse>(client.status.bind(client), { ref: "resume" });
      expect(st.status).toMatchObject({ ref: "resume", offset: 3n, total: 6n });
      const second = await rawWrite(client, [
        req({ ref: "resume", total: 6n }),
        req({ action: WriteAction.COMMIT, offset: 3n, total: 6n, expected: digestOf("abcdef"), data: Buffer.from("def") }),
      ]);
      expect(second.responses[0]?.offset).toBe(3n);
      expect(second.status.code).toBe(Code.OK);
    });

    it("reports ALREADY_EXISTS without a response when the expected blob exists", async () => {
      const dgst = await ingest(Buffer.from("exists"));
      const out = await rawWrite(client, [req({ ref: "again", expected: dgst })]);
      expect(out.responses).toEqual([]);
      expect(out.status.code).toBe(Code.ALREADY_EXISTS);
      expect(out.status.details).toContain(dgst);
    });

    it("reports UNAVAILABLE for a ref locked by another stream", async () => {
      const call = client.write(new Metadata());
      call.on("error", () => undefined);
      const opened = new Promise((resolve) => call.once("data", resolve));
      call.write(req({ ref: "locked" }));
      await opened;
      try {
        const out = await rawWrite(client, [req({ ref: "locked" })]);
        expect(out.status.code).toBe(Code.UNAVAILABLE);
        expect(out.status.details).toMatch(/^ref locked locked for .* \(since .*\): unavailable$/);
      } finally {
        call.end();
      }
    });

    it("fails a commit with a wrong digest or size with FAILED_PRECONDITION and publishes nothing", async () => {
      const wrong = digestOf("other");
      const out = await rawWrite(client, [
        req({ ref: "wrong" }),
        req({ action: WriteAction.COMMIT, total: 5n, expected: wrong, data: Buffer.from("hello") }),
      ]);
      expect(out.status.code).toBe(Code.FAILED_PRECONDITION);
      expect(out.status.details).toBe(`unexpected commit digest ${digestOf("hello")}, expected ${wrong}: failed precondition`);
      const size = await rawWrite(client, [req({ ref: "wrong" }), req({ action: WriteAction.COMMIT, offset: 5n, total: 4n })]);
      expect(size.status.code).toBe(Code.FAILED_PRECONDITION);
      expect(size.status.details).toContain("unexpected commit size 5, expected 4");
      const listed = await readList(client, []);
      expect(listed).toEqual([]);
    });

    it("validates the labels of the COMMIT message", async () => {
      const out = await rawWrite(client, [
        req({ ref: "labels" }),
        req({ action: WriteAction.COMMIT, data: Buffer.from("x"), labels: { big: "v".repeat(5000) } }),
      ]);
      expect(out.status.code).toBe(Code.INVALID_ARGUMENT);
      expect(out.status.details).toContain("label key and value greater than maximum size (4096 bytes)");
    });
  });

  describe("Read", () => {
    it("streams chunks of at most 1 MiB with offsets relative to the request", async () => {
      const data = Buffer.from(randomBytes(2.5 * 1024 * 1024));
      const dgst = await ingest(data);
      const all = await readAll(client, { digest: dgst });
      expect(all.error).toBeUndefined();
      expect(all.msgs.map((m) => m.data.byteLength)).toEqual([1 << 20, 1 << 20, 0.5 * (1 << 20)]);
      expect(all.msgs.map((m) => m.offset)).toEqual([0n, 1048576n, 2097152n]);
      expect(Buffer.concat(all.msgs.map((m) => m.data)).equals(data)).toBe(true);

      const part = await readAll(client, { digest: dgst, offset: 1000n, size: 10n });
      expect(part.msgs).toHaveLength(1);
      expect(part.msgs[0]?.offset).toBe(0n);
      expect(part.msgs[0]?.data.equals(data.subarray(1000, 1010))).toBe(true);

      const negative = await readAll(client, { digest: dgst, offset: -10n, size: 4n });
      expect(negative.msgs[0]?.data.equals(data.subarray(0, 4))).toBe(true);

      const atEnd = await readAll(client, { digest: dgst, offset: BigInt(data.byteLength) });
      expect(atEnd).toEqual({ msgs: [] });

      const past = await readAll(client, { digest: dgst, offset: BigInt(data.byteLength + 1) });
      expect(past.error?.code).toBe(Code.OUT_OF_RANGE);
      expect(past.error?.details).toBe(`read past object length ${data.byteLength} bytes`);
    });

    it("rejects malformed digests and reports missing blobs", async () => {
      const bad = await readAll(client, { digest: "sha256:abc" });
      expect(bad.error?.code).toBe(Code.INVALID_ARGUMENT);
      const missing = await readAll(client, { digest: digestOf("missing") });
      expect(missing.error?.code).toBe(Code.NOT_FOUND);
    });
  });

  describe("List", () => {
    it("sends nothing when empty and batches of at most 100", async () => {
      expect(await readListBatches(client)).toEqual([]);
      for (let i = 0; i < 250; i++) {
        const w = await store.writer({ signal: new AbortController().signal }, { ref: `b${i}` });
        await w.write(Buffer.from(`blob ${i}`));
        await w.commit(0);
      }
      const batches = await readListBatches(client);
      expect(batches).toEqual([100, 100, 50]);
    });
  });

  describe("unary calls", () => {
    it("Info, Update, Status, ListStatuses, Abort and Delete use containerd's codes and wording", async () => {
      await expect(unaryCall(client.info.bind(client), { digest: "sha256:abc" })).rejects.toMatchObject({
        code: Code.INVALID_ARGUMENT,
        details: '"sha256:abc" failed validation',
      });
      const dgst = await ingest(Buffer.from("unary"), "u", { k: "v" });
      const info = await unaryCall<InfoRequest, InfoResponse>(client.info.bind(client), { digest: dgst });
      expect(info.info).toMatchObject({ digest: dgst, size: 5n, labels: { k: "v" } });
      expect(info.info?.createdAt).toBeDefined();

      const upd = await unaryCall<UpdateRequest, UpdateResponse>(client.update.bind(client), {
        info: { digest: dgst, size: 0n, createdAt: undefined, updatedAt: undefined, labels: { k2: "v2" } },
        updateMask: ["labels.k2"],
      });
      expect(upd.info?.labels).toEqual({ k: "v", k2: "v2" });
      await expect(
        unaryCall(client.update.bind(client), {
          info: { digest: dgst, size: 1n, createdAt: undefined, updatedAt: undefined, labels: {} },
          updateMask: ["size"],
        }),
      ).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });

      await expect(unaryCall(client.status.bind(client), { ref: "nope" })).rejects.toMatchObject({
        code: Code.NOT_FOUND,
        details: 'could not get status for ref "nope": reference nope: not found',
      });
      await expect(unaryCall(client.abort.bind(client), { ref: "nope" })).rejects.toMatchObject({ code: Code.NOT_FOUND });

      await rawWrite(client, [req({ ref: "pending" }), req({ action: WriteAction.WRITE, data: Buffer.from("zz") })]);
      const statuses = await unaryCall<ListStatusesRequest, ListStatusesResponse>(client.listStatuses.bind(client), { filters: [""] });
      expect(statuses.statuses.map((s) => [s.ref, s.offset])).toEqual([["pending", 2n]]);
      await unaryCall(client.abort.bind(client), { ref: "pending" });
      expect((await unaryCall<ListStatusesRequest, ListStatusesResponse>(client.listStatuses.bind(client), { filters: [] })).statuses).toEqual([]);

      await unaryCall(client.delete.bind(client), { digest: dgst });
      await expect(unaryCall(client.delete.bind(client), { digest: dgst })).rejects.toMatchObject({ code: Code.NOT_FOUND });
    });
  });
});

async function readListBatches(client: ContentClient): Promise<number[]> {
  const sizes: number[] = [];
  for await (const m of client.list({ filters: [] }, new Metadata())) sizes.push((m as { info: unknown[] }).info.length);
  return sizes;
}

async function readList(client: ContentClient, filters: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const m of client.list({ filters }, new Metadata())) for (const i of (m as { info: { digest: string }[] }).info) out.push(i.digest);
  return out;
}
