import { mkdtemp, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  isAlreadyExists,
  isCanceled,
  isDeadlineExceeded,
  isInvalidArgument,
  isNotFound,
  isNotImplemented,
  isUnavailable,
  kindOf,
} from "@containerts/errdefs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type TtrpcCallContext,
  type TtrpcClient,
  type TtrpcCloseEvent,
  type TtrpcServer,
  TTRPC_MESSAGE_LENGTH_MAX,
  connectTtrpcClient,
  createTtrpcClient,
  createTtrpcServer,
  isTtrpcClosed,
  unaryHandler,
  unaryMethod,
} from "./index.js";
import {
  FrameParser,
  MESSAGE_TYPE_REQUEST,
  MESSAGE_TYPE_RESPONSE,
  type ParsedFrame,
  encodeFrame,
} from "./internal/frame.js";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from "./internal/messages.js";

const SVC = "test.v1.Echo";
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A promise with its resolver, to order events without sleeping. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Rejection value of a promise that must reject. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the promise to reject");
}

/** Connects a raw socket, writes `data`, and collects `count` frames. */
async function rawExchange(path: string, data: Buffer, count: number): Promise<ParsedFrame[]> {
  const socket = net.createConnection({ path });
  try {
    const parser = new FrameParser();
    const out: ParsedFrame[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on("data", (chunk) => {
        out.push(...parser.push(chunk));
        if (out.length >= count) resolve();
      });
      socket.on("error", reject);
      socket.on("close", () => reject(new Error(`closed after ${out.length} frames`)));
      socket.write(data);
    });
    return out;
  } finally {
    socket.destroy();
  }
}

function requestFrame(streamId: number, service: string, method: string, payload: Uint8Array = new Uint8Array(0)): Buffer {
  return encodeFrame(
    streamId,
    MESSAGE_TYPE_REQUEST,
    encodeRequest({ service, method, payload, timeoutNano: 0, metadata: [] }),
  );
}

function statusOf(f: ParsedFrame | undefined): { code: number; message: string } | undefined {
  if (f?.kind !== "frame") throw new Error("expected a frame");
  const st = decodeResponse(f.payload).status;
  return st && { code: st.code, message: st.message };
}

let dir: string;
let path: string;
let server: TtrpcServer;
const clients: TtrpcClient[] = [];

function client(): TtrpcClient {
  const c = createTtrpcClient({ path });
  clients.push(c);
  return c;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ttrpc-test-"));
  path = join(dir, "ttrpc.sock");
  server = createTtrpcServer();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("client ↔ server round trips", () => {
  it("returns the handler's bytes, and a zero-length payload for Empty", async () => {
    server.register(SVC, {
      Echo: (p) => p,
      Empty: () => new Uint8Array(0),
      Upper: async (p) => enc(dec(p).toUpperCase()),
    });
    await server.listen(path);
    const c = client();
    expect(dec(await c.call(SVC, "Echo", enc("hello")))).toBe("hello");
    expect(dec(await c.call(SVC, "Upper", enc("abc")))).toBe("ABC");
    expect(await c.call(SVC, "Empty", enc("x"))).toHaveLength(0);
    expect(await c.call(SVC, "Echo", new Uint8Array(0))).toHaveLength(0);
  });

  it("carries a payload close to the 4 MiB limit, and answers ResourceExhausted beyond it", async () => {
    server.register(SVC, { Echo: (p) => p, Big: () => new Uint8Array(TTRPC_MESSAGE_LENGTH_MAX + 1) });
    await server.listen(path);
    const c = client();
    const big = new Uint8Array(3 << 20).map((_, i) => (i * 7) & 0xff);
    const back = await c.call(SVC, "Echo", big);
    expect(Buffer.compare(Buffer.from(back), Buffer.from(big))).toBe(0);
    const err = await rejection(c.call(SVC, "Big", new Uint8Array(0)));
    expect(kindOf(err)).toBe("ResourceExhausted");
    expect(err.message).toMatch(/^message length \d+ exceed maximum message size of 4194304$/);
    const tooBig = await rejection(c.call(SVC, "Echo", new Uint8Array(TTRPC_MESSAGE_LENGTH_MAX + 1)));
    expect(kindOf(tooBig)).toBe("ResourceExhausted");
    expect(dec(await c.call(SVC, "Echo", enc("still usable")))).toBe("still usable");
  });

  it("passes metadata (lower-cased keys, repeated values) and no deadline without a timeout", async () => {
    const seen = deferred<TtrpcCallContext>();
    server.register(SVC, {
      Meta: (_p, ctx) => {
        seen.resolve(ctx);
        return new Uint8Array(0);
      },
    });
    await server.listen(path);
    await client().call(SVC, "Meta", new Uint8Array(0), {
      metadata: { "Containerd-Namespace-Ttrpc": "default", x: ["1", "2"] },
    });
    const ctx = await seen.promise;
    expect(ctx.metadata).toEqual(
      new Map([
        ["containerd-namespace-ttrpc", ["default"]],
        ["x", ["1", "2"]],
      ]),
    );
    expect(ctx.deadline).toBeUndefined();
    expect(ctx.signal.aborted).toBe(false);
  });

  it("runs concurrent calls concurrently and delivers responses out of order", async () => {
    const gate = deferred();
    const slowStarted = deferred();
    server.register(SVC, {
      Slow: async (p) => {
        slowStarted.resolve();
        await gate.promise;
        return p;
      },
      Fast: (p) => p,
    });
    await server.listen(path);
    const c = client();
    const order: string[] = [];
    const slow = c.call(SVC, "Slow", enc("slow")).then((b) => order.push(dec(b)));
    await slowStarted.promise;
    const fast = await Promise.all(
      ["a", "b", "c"].map((s) => c.call(SVC, "Fast", enc(s)).then((b) => order.push(dec(b)))),
    );
    expect(fast).toHaveLength(3);
    gate.resolve();
    await slow;
    expect(order.slice(0, 3).sort()).toEqual(["a", "b", "c"]);
    expect(order[3]).toBe("slow");
  });

  it("uses odd stream ids from 1 and matches responses that arrive in reverse order", async () => {
    const requests: { id: number; method: string }[] = [];
    const all = deferred();
    const raw = net.createServer((socket) => {
      const parser = new FrameParser();
      socket.on("data", (chunk) => {
        for (const f of parser.push(chunk)) {
          if (f.kind !== "frame") continue;
          requests.push({ id: f.header.streamId, method: decodeRequest(f.payload).method });
          if (requests.length === 3) all.resolve();
        }
      });
      void all.promise.then(() => {
        for (const r of [...requests].reverse()) {
          socket.write(encodeFrame(r.id, MESSAGE_TYPE_RESPONSE, encodeResponse({ payload: enc(`re:${r.method}`) })));
        }
      });
    });
    await new Promise<void>((resolve) => raw.listen(path, resolve));
    try {
      const c = client();
      const results = await Promise.all(["A", "B", "C"].map((m) => c.call(SVC, m, new Uint8Array(0))));
      expect(results.map(dec)).toEqual(["re:A", "re:B", "re:C"]);
      expect(requests).toEqual([
        { id: 1, method: "A" },
        { id: 3, method: "B" },
        { id: 5, method: "C" },
      ]);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await new Promise((resolve) => raw.close(resolve));
    }
  });

  it("works over an already-connected socket and over a net.Server it is given", async () => {
    const srv = net.createServer();
    server.register(SVC, { Echo: (p) => p });
    await server.listen(srv);
    await new Promise<void>((resolve) => srv.listen(path, resolve));
    const socket = net.createConnection({ path });
    await new Promise((resolve) => socket.once("connect", resolve));
    const c = createTtrpcClient(socket);
    clients.push(c);
    expect(dec(await c.call(SVC, "Echo", enc("over socket")))).toBe("over socket");
    const c2 = await connectTtrpcClient(path);
    clients.push(c2);
    expect(dec(await c2.call(SVC, "Echo", enc("connected")))).toBe("connected");
  });
});

describe("errors", () => {
  it("maps handler errors to codes and back to errdefs errors with the server's message", async () => {
    server.register(SVC, {
      NotFound: () => {
        throw new NotFoundError("container not created");
      },
      Invalid: async () => {
        throw new InvalidArgumentError("bad id");
      },
      Exists: async () => {
        throw new AlreadyExistsError("exec x");
      },
      Enoent: async () => {
        throw Object.assign(new Error("ENOENT: no such file or directory, open '/nope'"), { code: "ENOENT" });
      },
      Eacces: async () => {
        throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
      },
      Plain: async () => {
        throw new Error("boom");
      },
      NotBytes: async () => "text" as unknown as Uint8Array,
    });
    await server.listen(path);
    const c = client();
    const call = (m: string) => rejection(c.call(SVC, m, new Uint8Array(0)));

    const nf = await call("NotFound");
    expect(isNotFound(nf)).toBe(true);
    expect(nf.message).toBe("container not created: not found");
    const inv = await call("Invalid");
    expect(isInvalidArgument(inv)).toBe(true);
    expect(inv.message).toBe("bad id: invalid argument");
    expect(isAlreadyExists(await call("Exists"))).toBe(true);
    const enoent = await call("Enoent");
    expect(isNotFound(enoent)).toBe(true);
    expect(enoent.message).toContain("no such file or directory");
    expect(kindOf(await call("Eacces"))).toBe("PermissionDenied");
    const plain = await call("Plain");
    expect(kindOf(plain)).toBe("Unknown");
    expect(plain.message).toBe("boom");
    const notBytes = await call("NotBytes");
    expect(kindOf(notBytes)).toBe("Internal");
    expect(notBytes.message).toBe("ttrpc: error unsupported response type: string");
  });

  it("answers Unimplemented for an unknown service or method", async () => {
    server.register(SVC, { Echo: (p) => p });
    await server.listen(path);
    const c = client();
    const svc = await rejection(c.call("no.such.Service", "Echo", new Uint8Array(0)));
    expect(isNotImplemented(svc)).toBe(true);
    expect(svc.message).toBe("service no.such.Service");
    const method = await rejection(c.call(SVC, "Nope", new Uint8Array(0)));
    expect(isNotImplemented(method)).toBe(true);
    expect(method.message).toBe("method Nope");
    // Object prototype names are not methods.
    expect(isNotImplemented(await rejection(c.call(SVC, "toString", new Uint8Array(0))))).toBe(true);
  });

  it("refuses a duplicate service and a socket path in use", async () => {
    server.register(SVC, {});
    expect(() => server.register(SVC, {})).toThrow(/ttrpc: service test\.v1\.Echo: already exists/);
    await server.listen(path);
    const other = createTtrpcServer();
    try {
      expect(isAlreadyExists(await rejection(other.listen(path)))).toBe(true);
    } finally {
      await other.close();
    }
  });

  it("fails to connect to a missing socket with Unavailable", async () => {
    const err = await rejection(connectTtrpcClient(join(dir, "missing.sock")));
    expect(isUnavailable(err)).toBe(true);
    expect(err.message).toContain("ttrpc: dial unix");
    const lazy = client();
    const lazyErr = await rejection(lazy.call(SVC, "Echo", new Uint8Array(0)));
    expect(isTtrpcClosed(lazyErr)).toBe(true);
    expect((lazyErr.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });
});

describe("deadlines and cancellation", () => {
  it("sends the timeout as timeout_nano: the server's signal fires at the deadline, the client gets DeadlineExceeded", async () => {
    const seen = deferred<{ deadline: Date | undefined; reason: unknown }>();
    server.register(SVC, {
      Hang: (_p, ctx) =>
        new Promise<Uint8Array>((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => {
            seen.resolve({ deadline: ctx.deadline, reason: ctx.signal.reason });
            reject(ctx.signal.reason);
          });
        }),
    });
    await server.listen(path);
    const c = client();
    const before = Date.now();
    const err = await rejection(c.call(SVC, "Hang", new Uint8Array(0), { timeoutMs: 150 }));
    expect(isDeadlineExceeded(err)).toBe(true);
    expect(err.message).toBe("context deadline exceeded");
    const { deadline, reason } = await seen.promise;
    expect(deadline).toBeInstanceOf(Date);
    expect(deadline!.getTime()).toBeGreaterThanOrEqual(before);
    expect((reason as DOMException).name).toBe("TimeoutError");
  });

  it("encodes timeoutMs as timeout_nano on the wire", async () => {
    const got = deferred<number>();
    const raw = net.createServer((socket) => {
      const parser = new FrameParser();
      socket.on("data", (chunk) => {
        for (const f of parser.push(chunk)) {
          if (f.kind !== "frame") continue;
          got.resolve(decodeRequest(f.payload).timeoutNano);
          socket.write(encodeFrame(f.header.streamId, MESSAGE_TYPE_RESPONSE, new Uint8Array(0)));
        }
      });
    });
    await new Promise<void>((resolve) => raw.listen(path, resolve));
    try {
      const c = client();
      await c.call(SVC, "X", new Uint8Array(0), { timeoutMs: 2000 });
      expect(await got.promise).toBe(2_000_000_000);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await new Promise((resolve) => raw.close(resolve));
    }
  });

  it("rejects with CanceledError on abort and DeadlineExceeded for a timeout signal", async () => {
    const started = deferred();
    server.register(SVC, {
      Hang: () => {
        started.resolve();
        return new Promise<Uint8Array>(() => {});
      },
      Echo: (p) => p,
    });
    await server.listen(path);
    const c = client();
    const ac = new AbortController();
    const pending = c.call(SVC, "Hang", new Uint8Array(0), { signal: ac.signal });
    await started.promise;
    ac.abort();
    expect(isCanceled(await rejection(pending))).toBe(true);
    expect(isCanceled(await rejection(c.call(SVC, "Echo", new Uint8Array(0), { signal: ac.signal })))).toBe(true);
    const timedOut = new AbortController();
    timedOut.abort(new DOMException("timed out", "TimeoutError"));
    expect(isDeadlineExceeded(await rejection(c.call(SVC, "Echo", new Uint8Array(0), { signal: timedOut.signal })))).toBe(
      true,
    );
    // The connection is still usable after abandoned calls.
    expect(dec(await c.call(SVC, "Echo", enc("ok")))).toBe("ok");
  });
});

describe("connection loss", () => {
  it("fails pending and later calls with Unavailable `ttrpc: closed` and reports the close", async () => {
    const started = deferred();
    const handlerSignal = deferred<AbortSignal>();
    server.register(SVC, {
      Hang: (_p, ctx) => {
        handlerSignal.resolve(ctx.signal);
        started.resolve();
        return new Promise<Uint8Array>(() => {});
      },
    });
    await server.listen(path);
    const c = client();
    const events: TtrpcCloseEvent[] = [];
    c.onClose((e) => events.push(e));
    const pending = [c.call(SVC, "Hang", new Uint8Array(0)), c.call(SVC, "Hang", new Uint8Array(0))];
    await started.promise;
    await server.close(); // the shim "dies"
    for (const p of pending) {
      const err = await rejection(p);
      expect(isUnavailable(err)).toBe(true);
      expect(err.message).toContain("ttrpc: closed");
      expect(isTtrpcClosed(err)).toBe(true);
    }
    const event = await c.closed;
    expect(event.local).toBe(false);
    expect(events).toEqual([event]);
    expect(c.isClosed).toBe(true);
    expect(isTtrpcClosed(await rejection(c.call(SVC, "Hang", new Uint8Array(0))))).toBe(true);
    expect((await handlerSignal.promise).aborted).toBe(true);
    // A listener added after the close still hears about it.
    const late = deferred<TtrpcCloseEvent>();
    c.onClose(late.resolve);
    expect(await late.promise).toBe(event);
  });

  it("close() fails pending calls and reports a local close", async () => {
    const started = deferred();
    server.register(SVC, {
      Hang: () => {
        started.resolve();
        return new Promise<Uint8Array>(() => {});
      },
    });
    await server.listen(path);
    const c = client();
    const pending = c.call(SVC, "Hang", new Uint8Array(0));
    await started.promise;
    await c.close();
    expect(isTtrpcClosed(await rejection(pending))).toBe(true);
    expect((await c.closed).local).toBe(true);
    await c.close(); // idempotent
  });
});

describe("server protocol handling (raw frames)", () => {
  beforeEach(async () => {
    server.register(SVC, { Echo: (p) => p });
    await server.listen(path);
  });

  it("rejects an even stream id with InvalidArgument on that stream", async () => {
    const [f] = await rawExchange(path, requestFrame(2, SVC, "Echo", enc("x")), 1);
    expect(f?.header.streamId).toBe(2);
    expect(f?.header.type).toBe(MESSAGE_TYPE_RESPONSE);
    expect(statusOf(f)).toEqual({ code: 3, message: "StreamID must be odd for client initiated streams" });
  });

  it("answers an oversized frame with ResourceExhausted and keeps serving the connection", async () => {
    const header = Buffer.alloc(10);
    header.writeUInt32BE(TTRPC_MESSAGE_LENGTH_MAX + 1, 0);
    header.writeUInt32BE(7, 4);
    header[8] = MESSAGE_TYPE_REQUEST;
    const data = Buffer.concat([header, Buffer.alloc(TTRPC_MESSAGE_LENGTH_MAX + 1), requestFrame(9, SVC, "Echo", enc("after"))]);
    const [big, next] = await rawExchange(path, data, 2);
    expect(big?.header.streamId).toBe(7);
    expect(statusOf(big)).toEqual({ code: 8, message: "message length 4194305 exceed maximum message size of 4194304" });
    expect(next?.header.streamId).toBe(9);
    expect(statusOf(next)).toBeUndefined();
    if (next?.kind === "frame") expect(dec(decodeResponse(next.payload).payload)).toBe("after");
  });

  it("answers an undecodable request with InvalidArgument and ignores non-request frames", async () => {
    const garbage = encodeFrame(11, MESSAGE_TYPE_REQUEST, Uint8Array.from([0x0a, 0x05, 0x61]));
    const data = Buffer.concat([
      encodeFrame(13, 0x03, enc("a v1.2 data frame")),
      encodeFrame(15, MESSAGE_TYPE_RESPONSE, new Uint8Array(0)),
      garbage,
      requestFrame(17, SVC, "Echo", enc("ok")),
    ]);
    const [bad, ok] = await rawExchange(path, data, 2);
    expect(bad?.header.streamId).toBe(11);
    const st = statusOf(bad);
    expect(st?.code).toBe(3);
    expect(st?.message).toMatch(/^unmarshal request error: /);
    expect(ok?.header.streamId).toBe(17);
  });

  it("sends success responses without a status field", async () => {
    const [f] = await rawExchange(path, requestFrame(1, SVC, "Echo", enc("hi")), 1);
    if (f?.kind !== "frame") throw new Error("expected a frame");
    expect(Buffer.from(f.payload).toString("hex")).toBe("1202" + Buffer.from("hi").toString("hex"));
  });
});

describe("shutdown", () => {
  it("stops accepting, lets in-flight calls finish, then closes the connections", async () => {
    const gate = deferred();
    const started = deferred();
    server.register(SVC, {
      Slow: async () => {
        started.resolve();
        await gate.promise;
        return enc("done");
      },
      Ping: () => new Uint8Array(0),
    });
    await server.listen(path);
    const c = client();
    const idle = client();
    await idle.call(SVC, "Ping", new Uint8Array(0)); // `idle` is connected and has nothing in flight
    const pending = c.call(SVC, "Slow", new Uint8Array(0));
    await started.promise;
    let shutDown = false;
    const shutdown = server.shutdown().then(() => {
      shutDown = true;
    });
    // The idle connection is closed at once; new connections are refused.
    expect((await idle.closed).local).toBe(false);
    expect(isUnavailable(await rejection(connectTtrpcClient(path)))).toBe(true);
    expect(shutDown).toBe(false);
    gate.resolve();
    expect(dec(await pending)).toBe("done");
    await shutdown;
    expect((await c.closed).local).toBe(false);
    expect(kindOf(await rejection(server.listen(path)))).toBe("FailedPrecondition");
  });
});

describe("typed helpers", () => {
  // A ts-proto–shaped codec: `encode(msg).finish()` and `decode(bytes)`.
  interface Greeting {
    name: string;
    count: number;
  }
  const Greeting = {
    encode(m: Greeting): BinaryWriter {
      const w = new BinaryWriter();
      if (m.name !== "") w.tag(1, WireType.LengthDelimited).string(m.name);
      if (m.count !== 0) w.tag(2, WireType.Varint).int32(m.count);
      return w;
    },
    decode(input: Uint8Array): Greeting {
      const r = new BinaryReader(input);
      const m: Greeting = { name: "", count: 0 };
      while (r.pos < r.len) {
        const [no, wt] = r.tag();
        if (no === 1) m.name = r.string();
        else if (no === 2) m.count = r.int32();
        else r.skip(wt);
      }
      return m;
    },
  };

  it("round-trips typed messages with codec objects and with functions", async () => {
    server.register(SVC, {
      Greet: unaryHandler(Greeting, Greeting, (req) => ({ name: `hello ${req.name}`, count: req.count + 1 })),
    });
    await server.listen(path);
    const c = client();
    const greet = unaryMethod(SVC, "Greet", Greeting, Greeting);
    expect(greet.service).toBe(SVC);
    expect(greet.method).toBe("Greet");
    expect(await greet(c, { name: "shim", count: 1 })).toEqual({ name: "hello shim", count: 2 });
    const greetFns = unaryMethod<Greeting, Greeting>(
      SVC,
      "Greet",
      (m) => Greeting.encode(m).finish(),
      (b) => Greeting.decode(b),
    );
    expect(await greetFns(c, { name: "", count: 0 }, { timeoutMs: 5000 })).toEqual({ name: "hello ", count: 1 });
  });

  it("answers Internal when the request payload does not decode", async () => {
    server.register(SVC, { Greet: unaryHandler(Greeting, Greeting, (req) => req) });
    await server.listen(path);
    const err = await rejection(client().call(SVC, "Greet", Uint8Array.from([0x0a, 0x09, 0x61])));
    expect(kindOf(err)).toBe("Internal");
    expect(err.message).toMatch(/^ttrpc: error unmarshalling payload: /);
  });
});
