/**
 * The daemon's HTTP/2 gRPC server against grpc-js's client (nghttp2 underneath: Huffman-coded, indexed
 * headers) and raw sockets. The stock ctr (a Go client) drives it in the daemon's integration tests and
 * the conformance script.
 */
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  status,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServiceDefinition,
  type ServiceError,
} from "@grpc/grpc-js";
import { bidiStream, serverStream, unary } from "@containerts/namespaces/grpc";
import { NotFoundError } from "@containerts/errdefs";
import { GrpcServer, encodeGrpcMessage, parseTimeout } from "./grpc.js";
import { HpackDecoder, encodeHeaders, huffmanCodes } from "./hpack.js";

/** An HTTP/2 frame as bytes. */
function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

/** The client preface, an empty SETTINGS and HEADERS opening stream 1 for a gRPC call of `method`. */
function rawRequestStart(method: string): Buffer[] {
  const headers = encodeHeaders([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", `/test.v1.Test/${method}`],
    [":authority", "x"],
    ["content-type", "application/grpc"],
  ]);
  return [Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(4, 0, 0), frame(1, 0x4, 1, headers)];
}

/** A gRPC message: the 5-byte prefix (uncompressed, `length`) and `body`. */
function grpcMessage(body: Buffer, length = body.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(length, 1);
  return Buffer.concat([head, body]);
}

/** Splits received bytes into frames. */
function frames(buf: Buffer): { type: number; flags: number; id: number; payload: Buffer }[] {
  const out = [];
  for (let off = 0; off + 9 <= buf.length; ) {
    const len = buf.readUIntBE(off, 3);
    out.push({ type: buf[off + 3]!, flags: buf[off + 4]!, id: buf.readUInt32BE(off + 5), payload: buf.subarray(off + 9, off + 9 + len) });
    off += 9 + len;
  }
  return out;
}

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};
function method(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/test.v1.Test/${name}`,
    requestStream,
    responseStream,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
    originalName: name,
  };
}
const def = {
  Echo: method("Echo", false, false),
  Fail: method("Fail", false, false),
  Slow: method("Slow", false, false),
  Many: method("Many", false, true),
  Sum: method("Sum", true, true),
} as unknown as ServiceDefinition;

type Req = { s?: string; n?: number; size?: number; ms?: number };
interface TestClient extends Client {
  Echo(r: Req, md: Metadata, o: object, cb: (e: ServiceError | null, r: Req) => void): void;
  Fail(r: Req, cb: (e: ServiceError | null, r: Req) => void): void;
  Slow(r: Req, md: Metadata, o: object, cb: (e: ServiceError | null, r: Req) => void): void;
  Many(r: Req): ClientReadableStream<Req>;
  Sum(): ClientDuplexStream<Req, Req>;
}
const Ctor = makeGenericClientConstructor(def, "Test") as unknown as new (addr: string, creds: ReturnType<typeof credentials.createInsecure>, opts?: object) => TestClient;

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

let cancelledSeen = 0;
async function start(max = 4 << 20): Promise<{ server: GrpcServer; client: TestClient; sock: string }> {
  const dir = await mkdtemp(join(tmpdir(), "h2grpc-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const server = new GrpcServer({ maxReceiveMessageLength: max, maxSendMessageLength: max });
  server.addService(def, {
    echo: unary(async (req: Req, ctx) => ({ s: `${ctx.namespace ?? "-"}:${req.s ?? ""}` })),
    fail: unary(async (req: Req) => {
      throw new NotFoundError(`no such thing: ${req.s ?? ""}`, { bare: true });
    }),
    slow: unary(async (req: Req, ctx) => {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, req.ms ?? 0);
        ctx.signal.addEventListener("abort", () => {
          cancelledSeen++;
          clearTimeout(t);
          resolve();
        });
      });
      return { s: "slept" };
    }),
    many: serverStream(async (req: Req, _ctx, send) => {
      for (let i = 0; i < (req.n ?? 0); i++) await send({ n: i, s: "x".repeat(req.size ?? 0) });
    }),
    sum: bidiStream(async (reqs: AsyncIterable<Req>, _ctx, send) => {
      let total = 0;
      for await (const r of reqs) {
        total += (r.s ?? "").length;
        await send({ n: total });
      }
    }),
  });
  const sock = join(dir, "s.sock");
  await server.listen(sock);
  const client = new Ctor(`unix://${sock}`, credentials.createInsecure(), { "grpc.max_receive_message_length": 64 << 20, "grpc.max_send_message_length": 64 << 20 });
  cleanups.push(() => {
    client.close();
    server.forceShutdown();
  });
  return { server, client, sock };
}

function echo(c: TestClient, s: string, md = new Metadata(), opts: object = {}): Promise<Req> {
  return new Promise((resolve, reject) => c.Echo({ s }, md, opts, (e, r) => (e ? reject(e) : resolve(r))));
}

describe("HPACK", () => {
  it("derives RFC 7541's Huffman codes from the code lengths", () => {
    const c = huffmanCodes();
    expect(c).toHaveLength(257);
    expect(c[0]).toEqual({ code: 0x1ff8, length: 13 });
    expect(c[48]).toEqual({ code: 0x0, length: 5 }); // '0'
    expect(c[97]).toEqual({ code: 0x3, length: 5 }); // 'a'
    expect(c[92]).toEqual({ code: 0x7fff0, length: 19 }); // '\'
    expect(c[203]).toEqual({ code: 0x7ffffde, length: 27 });
    expect(c[255]).toEqual({ code: 0x3ffffee, length: 26 });
    expect(c[256]).toEqual({ code: 0x3fffffff, length: 30 }); // EOS
    expect(c.reduce((k, x) => k + 2 ** -x.length, 0)).toBe(1); // a complete prefix code
  });

  it("decodes RFC 7541 C.4 (requests with Huffman coding) and keeps the dynamic table across blocks", () => {
    const d = new HpackDecoder();
    const hex = (s: string) => Buffer.from(s.replace(/\s/g, ""), "hex");
    expect(d.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"))).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
    ]);
    expect(d.decode(hex("8286 84be 5886 a8eb 1064 9cbf"))).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
      ["cache-control", "no-cache"],
    ]);
    expect(d.decode(hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"))).toEqual([
      [":method", "GET"],
      [":scheme", "https"],
      [":path", "/index.html"],
      [":authority", "www.example.com"],
      ["custom-key", "custom-value"],
    ]);
  });

  it("refuses bad blocks: index out of range, bad padding, table size over the limit", () => {
    expect(() => new HpackDecoder().decode(Buffer.from([0xbe]))).toThrow(/out of the table/);
    expect(() => new HpackDecoder().decode(Buffer.from([0x80]))).toThrow(/index 0/);
    // A Huffman string whose padding is not all ones.
    expect(() => new HpackDecoder().decode(Buffer.from([0x00, 0x81, 0x00, 0x00]))).toThrow(/huffman/);
    expect(() => new HpackDecoder(4096).decode(Buffer.from([0x3f, 0xe2, 0x1f]))).toThrow(/over the limit/);
  });

  it("bounds the decoded header list: one-byte references to a big table entry cannot amplify", () => {
    const value = "v".repeat(3000);
    // Literal with incremental indexing, new name "k", value length 3000 (= 127 + 57 + 22·128 as an HPACK
    // integer: 0x7f, 0x80|57, 22), then ten references to it (dynamic index 62, 0x80|62).
    const block = Buffer.concat([Buffer.from([0x40, 0x01, 0x6b, 0x7f, 0x80 | 57, 22]), Buffer.from(value), Buffer.alloc(10, 0x80 | 62)]);
    expect(new HpackDecoder(4096).decode(block)).toHaveLength(11);
    expect(() => new HpackDecoder(4096, 20_000).decode(block)).toThrow(/header list larger than 20000 bytes/);
  });
});

describe("gRPC server", () => {
  it("serves unary calls with metadata, Huffman-coded headers and percent-encoded status messages", async () => {
    const { client } = await start();
    const md = new Metadata();
    md.set("containerd-namespace", "ns-1");
    md.set("x-all", Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("").trim());
    expect(await echo(client, "hello", md)).toEqual({ s: "ns-1:hello" });
    for (let i = 0; i < 50; i++) expect(await echo(client, `n${i}`, md)).toEqual({ s: `ns-1:n${i}` }); // indexed headers
    const err = await new Promise<ServiceError>((resolve) => client.Fail({ s: "ünï 100%" }, (e) => resolve(e!)));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe("no such thing: ünï 100%");
  });

  it("answers UNIMPLEMENTED for unknown services and methods", async () => {
    const { sock } = await start();
    const other = makeGenericClientConstructor(
      { Nope: { ...method("Nope", false, false) }, Gone: { ...method("Gone", false, false), path: "/other.v1.Other/Gone" } } as unknown as ServiceDefinition,
      "X",
    ) as unknown as new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, (r: Req, cb: (e: ServiceError | null) => void) => void>;
    const c = new other(`unix://${sock}`, credentials.createInsecure());
    cleanups.push(() => c.close());
    const e1 = await new Promise<ServiceError>((resolve) => c.Nope!({}, (e) => resolve(e!)));
    expect(e1.code).toBe(status.UNIMPLEMENTED);
    expect(e1.details).toBe("unknown method Nope for service test.v1.Test");
    const e2 = await new Promise<ServiceError>((resolve) => c.Gone!({}, (e) => resolve(e!)));
    expect(e2.code).toBe(status.UNIMPLEMENTED);
    expect(e2.details).toBe("unknown service other.v1.Other");
  });

  it("streams responses larger than the flow-control windows, in order", async () => {
    const { client, server } = await start();
    const got: number[] = [];
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      const s = client.Many({ n: 200, size: 50_000 });
      s.on("data", (r: Req) => {
        got.push(r.n!);
        bytes += r.s!.length;
      });
      s.on("error", reject);
      s.on("end", () => resolve());
    });
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(bytes).toBe(200 * 50_000);
    expect(server.openStreams).toBe(0);
  });

  it("takes streamed requests larger than the stream window (bidi), and many calls at once", async () => {
    const { client, server } = await start(8 << 20);
    const results = await Promise.all(
      [3 << 20, 10, 100_000].map(
        (size) =>
          new Promise<number[]>((resolve, reject) => {
            const s = client.Sum();
            const out: number[] = [];
            s.on("data", (r: Req) => out.push(r.n!));
            s.on("error", reject);
            s.on("end", () => resolve(out));
            s.write({ s: "a".repeat(size) });
            s.write({ s: "bb" });
            s.end();
          }),
      ),
    );
    expect(results).toEqual([
      [3 << 20, (3 << 20) + 2],
      [10, 12],
      [100_000, 100_002],
    ]);
    const big = "u".repeat(3 << 20); // a unary request larger than the stream window
    expect((await echo(client, big)).s).toBe(`-:${big}`);
    const many = await Promise.all(Array.from({ length: 100 }, (_, i) => echo(client, String(i))));
    expect(many.map((r) => r.s)).toEqual(Array.from({ length: 100 }, (_, i) => `-:${i}`));
    for (let i = 0; i < 50 && server.openStreams > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.openStreams).toBe(0);
    expect(server.activeCalls).toBe(0);
  });

  it("refuses a request over the size limit with RESOURCE_EXHAUSTED and keeps serving", async () => {
    const { client } = await start(1000);
    const err = await echo(client, "x".repeat(5000)).catch((e: ServiceError) => e);
    expect((err as ServiceError).code).toBe(status.RESOURCE_EXHAUSTED);
    expect((err as ServiceError).details).toMatch(/received message larger than max \(\d+ vs\. 1000\)/);
    expect(await echo(client, "ok")).toEqual({ s: "-:ok" });
  });

  it("ends a call at its deadline with DEADLINE_EXCEEDED and aborts the handler's context", async () => {
    const { client } = await start();
    const before = cancelledSeen;
    const err = await new Promise<ServiceError>((resolve) => client.Slow({ ms: 5000 }, new Metadata(), { deadline: Date.now() + 200 }, (e) => resolve(e!)));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    for (let i = 0; i < 50 && cancelledSeen === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(cancelledSeen).toBe(before + 1);
    expect(parseTimeout("100m")).toBe(100);
    expect(parseTimeout("2S")).toBe(2000);
    expect(parseTimeout("1H")).toBe(3_600_000);
    expect(parseTimeout("x")).toBeUndefined();
    expect(encodeGrpcMessage("a%b\n")).toBe("a%25b%0A");
  });

  it("aborts the handler's context when the client cancels", async () => {
    const { client, server } = await start();
    const before = cancelledSeen;
    const call = client.Slow({ ms: 10_000 }, new Metadata(), {}, () => undefined) as unknown as { cancel(): void };
    for (let i = 0; i < 50 && server.activeCalls === 0; i++) await new Promise((r) => setTimeout(r, 10));
    call.cancel();
    for (let i = 0; i < 100 && cancelledSeen === before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cancelledSeen).toBe(before + 1);
    expect(server.activeCalls).toBe(0);
    expect(server.openStreams).toBe(0);
    expect(await echo(client, "after")).toEqual({ s: "-:after" });
  });

  it("shuts down gracefully: the call in flight completes, then the connection closes", async () => {
    const { client, server } = await start();
    const slow = new Promise<Req>((resolve, reject) => client.Slow({ ms: 300 }, new Metadata(), {}, (e, r) => (e ? reject(e) : resolve(r))));
    for (let i = 0; i < 50 && server.activeCalls === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const done = new Promise<void>((resolve) => server.tryShutdown(resolve));
    expect(await slow).toEqual({ s: "slept" });
    await done;
    expect(server.activeCalls).toBe(0);
  });

  it("resets a stream whose client ignores the flow-control window (FLOW_CONTROL_ERROR)", async () => {
    const { client, sock } = await start(16 << 20);
    const got = await new Promise<Buffer>((resolve) => {
      const s = connect(sock);
      const chunks: Buffer[] = [];
      s.on("data", (b: Buffer) => {
        chunks.push(b);
        if (frames(Buffer.concat(chunks)).some((f) => f.type === 3 && f.id === 1)) s.end();
      });
      const timer = setTimeout(() => s.destroy(), 5000); // no RST_STREAM by then: the check below fails
      s.on("close", () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      });
      s.on("error", () => undefined);
      const out = rawRequestStart("Echo");
      // One complete message (it waits for the end of the request, so nothing more is credited back),
      // then the start of a 4 MiB one, sent past the 1 MiB window without waiting for WINDOW_UPDATE.
      out.push(frame(0, 0, 1, grpcMessage(Buffer.from(JSON.stringify({ s: "x" })))));
      out.push(frame(0, 0, 1, grpcMessage(Buffer.alloc(0), 4 << 20)));
      for (let i = 0; i < 70; i++) out.push(frame(0, 0, 1, Buffer.alloc(16_384, 0x61)));
      s.write(Buffer.concat(out));
    });
    const rst = frames(got).find((f) => f.type === 3 && f.id === 1);
    expect(rst?.payload.readUInt32BE(0)).toBe(3); // FLOW_CONTROL_ERROR
    expect(await echo(client, "fine")).toEqual({ s: "-:fine" });
  });

  it("cancels the calls of a connection that goes away (client killed)", async () => {
    const { client, server, sock } = await start();
    const before = cancelledSeen;
    const s = connect(sock);
    s.on("error", () => undefined);
    s.write(Buffer.concat([...rawRequestStart("Slow"), frame(0, 0x1, 1, grpcMessage(Buffer.from(JSON.stringify({ ms: 30_000 }))))]));
    for (let i = 0; i < 100 && server.activeCalls === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.activeCalls).toBe(1);
    s.destroy();
    for (let i = 0; i < 100 && cancelledSeen === before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cancelledSeen).toBe(before + 1);
    expect(server.activeCalls).toBe(0);
    expect(await echo(client, "next")).toEqual({ s: "-:next" });
  });

  it("survives random frames after a valid preface (each connection fails alone)", async () => {
    const { client, sock } = await start();
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 60; round++) {
      const parts: Buffer[] = rawRequestStart("Echo").slice(0, 2); // preface and SETTINGS only
      for (let i = 0; i < 8; i++) {
        const payload = Buffer.alloc(rand(64));
        for (let j = 0; j < payload.length; j++) payload[j] = rand(256);
        parts.push(frame(rand(11), rand(256), rand(4) === 0 ? 0 : 1 + 2 * rand(4), payload));
      }
      await new Promise<void>((resolve) => {
        const s = connect(sock);
        const t = setTimeout(() => s.destroy(), 300);
        s.on("close", () => {
          clearTimeout(t);
          resolve();
        });
        s.on("error", () => undefined);
        s.on("data", () => undefined);
        s.write(Buffer.concat(parts));
      });
    }
    expect(await echo(client, "alive")).toEqual({ s: "-:alive" });
  });

  it("closes a connection that does not speak HTTP/2, and serves the next one", async () => {
    const { client, sock } = await start();
    const closed = await new Promise<string>((resolve) => {
      const s = connect(sock);
      let got = "";
      s.on("data", (b: Buffer) => (got += b.toString("latin1")));
      s.on("close", () => resolve(got));
      s.on("error", () => undefined);
      s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    });
    expect(closed).toContain("bad connection preface"); // in the GOAWAY's debug data
    expect(await echo(client, "still")).toEqual({ s: "-:still" });
  });
});
