import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, ServerCredentials, credentials, status, type ServiceError } from "@grpc/grpc-js";
import { kindOf } from "@containerts/errdefs";
import { background, withNamespace } from "@containerts/namespaces";
import { PluginType, createRegistry, initPlugins, type PluginSet } from "@containerts/plugin-registry";
import { connectTtrpcClient, createTtrpcServer, unaryMethod, type TtrpcClient, type TtrpcServer } from "@containerts/ttrpc";
import { Empty } from "@containerts/api/protobuf";
import { EventsClient, type Envelope as WireEnvelope } from "@containerts/api/services/events/v1";
import { ForwardRequest } from "@containerts/api/services/ttrpc/events/v1";
import { encodeAny, EventTypeUrl } from "@containerts/api/typeurl";
import { type Envelope, EventType } from "../index.js";
import type { LocalExchange } from "../local/index.js";
import type { EventsServicePlugin } from "../grpc/index.js";
import { eventsPlugins } from "../plugin/index.js";
import { ProxyExchange, type ProxyTarget } from "./index.js";

interface Loopback {
  dir: string;
  plugins: PluginSet;
  exchange: LocalExchange;
  server: Server;
  ttrpc: TtrpcServer;
  target: ProxyTarget;
  ttrpcPath: string;
  close(): Promise<void>;
}

async function startLoopback(queueSize?: number): Promise<Loopback> {
  const dir = await mkdtemp(join(tmpdir(), "events-"));
  const plugins = await initPlugins(createRegistry(eventsPlugins), {
    root: join(dir, "root"),
    state: join(dir, "state"),
    pluginConfig: queueSize === undefined ? {} : { "io.containerd.event.v1.exchange": { subscriber_queue_size: queueSize } },
  });
  const exchange = plugins.get(PluginType.Event, "exchange")?.instance as LocalExchange;
  const svc = plugins.get(PluginType.GRPC, "events")?.instance as EventsServicePlugin;
  const server = new Server();
  svc.register(server);
  const ttrpc = createTtrpcServer();
  svc.registerTtrpc(ttrpc);
  const sock = join(dir, "s.sock");
  const ttrpcPath = `${sock}.ttrpc`;
  await new Promise<void>((res, rej) => server.bindAsync(`unix://${sock}`, ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  await ttrpc.listen(ttrpcPath);
  const target = { address: `unix://${sock}`, credentials: credentials.createInsecure(), options: {} };
  return {
    dir,
    plugins,
    exchange,
    server,
    ttrpc,
    target,
    ttrpcPath,
    async close() {
      server.forceShutdown();
      await ttrpc.shutdown().catch(() => ttrpc.close());
      await plugins.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the daemon side counts `n` subscribers (a remote subscription has no acknowledgement). */
async function subscribers(ex: LocalExchange, n: number): Promise<void> {
  for (let i = 0; i < 2000 && ex.stats().subscribers !== n; i++) await new Promise((r) => setTimeout(r, 5));
  expect(ex.stats().subscribers).toBe(n);
}

async function take(it: AsyncIterator<Envelope>, n: number): Promise<Envelope[]> {
  const out: Envelope[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) throw new Error(`subscription ended after ${out.length} envelopes`);
    out.push(r.value);
  }
  return out;
}

const ns = (name: string) => withNamespace(background(), name);

describe("events over gRPC and ttrpc", () => {
  let lb: Loopback;
  let proxy: ProxyExchange;

  beforeAll(async () => {
    lb = await startLoopback();
    proxy = new ProxyExchange(lb.target);
  });

  afterAll(async () => {
    proxy?.close();
    await lb?.close();
  });

  it("publishes through the proxy and streams to a proxy subscriber, decoded", async () => {
    const ac = new AbortController();
    const it = proxy.subscribe(background(ac.signal))[Symbol.asyncIterator]();
    const first = it.next();
    await subscribers(lb.exchange, 1);
    const before = Date.now();
    await proxy.publish(ns("default"), "/namespaces/create", { typeUrl: EventType.NamespaceCreate, message: { name: "x", labels: { a: "b" } } });
    const env = (await first).value as Envelope;
    expect(env.namespace).toBe("default");
    expect(env.topic).toBe("/namespaces/create");
    expect(env.event).toEqual({ typeUrl: "containerd.events.NamespaceCreate", message: { name: "x", labels: { a: "b" } } });
    expect(env.timestamp.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(env.timestampNanos).toBeGreaterThanOrEqual(0);
    ac.abort();
    expect(await it.next()).toEqual({ done: true, value: undefined });
    await subscribers(lb.exchange, 0);
  });

  it("passes an Any it cannot decode through byte for byte", async () => {
    const raw = new ProxyExchange(lb.target, { decode: false });
    const ac = new AbortController();
    const it = proxy.subscribe(background(ac.signal))[Symbol.asyncIterator]();
    const rawIt = raw.subscribe(background(ac.signal))[Symbol.asyncIterator]();
    const a = it.next();
    const b = rawIt.next();
    await subscribers(lb.exchange, 2);
    const value = Uint8Array.from([0xde, 0xad, 0xbe, 0xef]);
    await proxy.publish(ns("default"), "/custom/thing", { typeUrl: "example.com/Thing", value });
    const [ea, eb] = [(await a).value as Envelope, (await b).value as Envelope];
    expect(ea.event.typeUrl).toBe("example.com/Thing");
    expect([...(ea.event.value ?? [])]).toEqual([...value]);
    expect([...(eb.event.value ?? [])]).toEqual([...value]);
    ac.abort();
    raw.close();
    await subscribers(lb.exchange, 0);
  });

  it("requires the namespace header and a valid topic on Publish", async () => {
    const missing = await proxy.publish(background(), "/x", { typeUrl: EventType.TaskOOM, message: { containerId: "c" } }).catch((e: unknown) => e);
    expect(kindOf(missing)).toBe("FailedPrecondition");
    expect((missing as Error).message).toBe("failed publishing event: namespace is required: failed precondition");
    const topic = await proxy.publish(ns("default"), "x", { typeUrl: EventType.TaskOOM, message: { containerId: "c" } }).catch((e: unknown) => e);
    expect(kindOf(topic)).toBe("InvalidArgument");
    expect((topic as Error).message).toBe(`envelope topic "x": must start with '/': invalid argument`);
  });

  it("forwards envelopes unchanged, to the nanosecond, and validates them", async () => {
    const ac = new AbortController();
    const it = proxy.subscribe(background(ac.signal), ["namespace==shim"])[Symbol.asyncIterator]();
    const next = it.next();
    await subscribers(lb.exchange, 1);
    const exitedAt = new Date("2026-11-28T11:57:56.397Z");
    const timestamp = new Date("2026-11-28T11:57:57.001Z");
    await proxy.forward(ns("ignored"), {
      timestamp,
      timestampNanos: 123_456,
      namespace: "shim",
      topic: "/tasks/exit",
      event: { typeUrl: EventType.TaskExit, message: { containerId: "c", id: "c", pid: 9, exitStatus: 137, exitedAt } },
    });
    const env = (await next).value as Envelope;
    expect(env.timestamp).toEqual(timestamp);
    expect(env.timestampNanos).toBe(123_456);
    expect(env.event.message).toEqual({ containerId: "c", id: "c", pid: 9, exitStatus: 137, exitedAt });

    const zero = await proxy
      .forward(background(), { timestamp: new Date(-62_135_596_800_000), namespace: "shim", topic: "/tasks/exit", event: { typeUrl: "", value: new Uint8Array() } })
      .catch((e: unknown) => e);
    expect(kindOf(zero)).toBe("InvalidArgument");
    expect((zero as Error).message).toBe("timestamp must be set on forwarded event: invalid argument");
    const badNs = await proxy
      .forward(background(), { timestamp, namespace: "a b", topic: "/tasks/exit", event: { typeUrl: "", value: new Uint8Array() } })
      .catch((e: unknown) => e);
    expect((badNs as Error).message).toMatch(/^event envelope has invalid namespace: identifier "a b" must match/);
    ac.abort();
    await subscribers(lb.exchange, 0);
  });

  it("filters on topic, namespace and event fields on the server", async () => {
    const ac = new AbortController();
    const it = proxy
      .subscribe(background(ac.signal), ['topic=="/tasks/oom",event.container_id==c2', "namespace==ns2"])
      [Symbol.asyncIterator]();
    const got = take(it, 2);
    await subscribers(lb.exchange, 1);
    const oom = (c: string) => ({ typeUrl: EventType.TaskOOM, message: { containerId: c } });
    await proxy.publish(ns("default"), "/tasks/oom", oom("c1"));
    await proxy.publish(ns("default"), "/tasks/oom", oom("c2"));
    await proxy.publish(ns("default"), "/tasks/paused", { typeUrl: EventType.TaskPaused, message: { containerId: "c2" } });
    // an encoded payload is decoded on the server for event.* filters
    await proxy.publish(ns("ns2"), "/tasks/oom", { typeUrl: EventType.TaskOOM, value: encodeAny(EventTypeUrl.TaskOOM, { containerId: "c3" }).value });
    const envs = await got;
    expect(envs.map((e) => `${e.namespace} ${e.topic} ${String(e.event.message?.["containerId"])}`)).toEqual([
      "default /tasks/oom c2",
      "ns2 /tasks/oom c3",
    ]);
    ac.abort();
    await subscribers(lb.exchange, 0);
  });

  it("refuses a malformed filter: InvalidArgument in the proxy, Unknown on the wire as containerd", async () => {
    const err = await proxy.subscribe(background(), ["topic==/tasks/exit"])[Symbol.asyncIterator]().next().catch((e: unknown) => e);
    expect(kindOf(err)).toBe("InvalidArgument");
    expect((err as Error).message).toBe(
      "failed parsing subscription filters: filters: parse error: [topic== >|/|< tasks/exit]: invalid quote encountered: invalid argument",
    );
    const client = new EventsClient(lb.target.address, lb.target.credentials);
    const wireErr = await new Promise<ServiceError>((resolve) => {
      const call = client.subscribe({ filters: ["topic==/tasks/exit"] });
      call.on("data", () => undefined);
      call.on("error", (e: ServiceError) => resolve(e));
    });
    expect(wireErr.code).toBe(status.UNKNOWN);
    expect(wireErr.details).toBe(
      "subscription error: failed parsing subscription filters: filters: parse error: [topic== >|/|< tasks/exit]: invalid quote encountered: invalid argument",
    );
    client.close();
  });

  it("keeps a subscription streaming until the client cancels", async () => {
    const client = new EventsClient(lb.target.address, lb.target.credentials);
    const call = client.subscribe({ filters: [] });
    const got: WireEnvelope[] = [];
    let ended = false;
    call.on("data", (e: WireEnvelope) => got.push(e));
    call.on("end", () => (ended = true));
    call.on("error", () => undefined);
    await subscribers(lb.exchange, 1);
    for (let i = 0; i < 3; i++) await proxy.publish(ns("default"), "/tick", { typeUrl: EventType.TaskOOM, message: { containerId: String(i) } });
    while (got.length < 3) await new Promise((r) => setTimeout(r, 5));
    expect(ended).toBe(false);
    expect(got.map((e) => e.topic)).toEqual(["/tick", "/tick", "/tick"]);
    expect(got[0]?.event?.typeUrl).toBe("containerd.events.TaskOOM");
    call.cancel();
    await subscribers(lb.exchange, 0);
    client.close();
  });

  it("accepts Forward from shims over ttrpc", async () => {
    const ac = new AbortController();
    const it = proxy.subscribe(background(ac.signal), ['topic=="/tasks/oom"'])[Symbol.asyncIterator]();
    const next = it.next();
    await subscribers(lb.exchange, 1);
    const client: TtrpcClient = await connectTtrpcClient(lb.ttrpcPath);
    try {
      const forward = unaryMethod("containerd.services.events.ttrpc.v1.Events", "Forward", ForwardRequest, Empty);
      await forward(client, {
        envelope: {
          timestamp: { seconds: 1795867076n, nanos: 397_546_020 },
          namespace: "default",
          topic: "/tasks/oom",
          event: encodeAny(EventTypeUrl.TaskOOM, { containerId: "from-shim" }),
        },
      });
      const env = (await next).value as Envelope;
      expect(env.namespace).toBe("default");
      expect(env.timestamp).toEqual(new Date("2026-11-28T11:57:56.397Z"));
      expect(env.timestampNanos).toBe(546_020);
      expect(env.event.message).toEqual({ containerId: "from-shim" });

      const bad = await forward(client, { envelope: { timestamp: undefined, namespace: "default", topic: "/tasks/oom", event: undefined } }).catch(
        (e: unknown) => e,
      );
      expect(kindOf(bad)).toBe("InvalidArgument");
      expect((bad as Error).message).toBe("timestamp must be set on forwarded event: invalid argument");
    } finally {
      await client.close();
      ac.abort();
    }
    await subscribers(lb.exchange, 0);
  });
});

describe("a slow gRPC subscriber", () => {
  it("is dropped with ResourceExhausted while publishers go on, and the daemon's queue stays bounded", async () => {
    const queueSize = 4;
    const lb = await startLoopback(queueSize);
    const client = new EventsClient(lb.target.address, lb.target.credentials);
    try {
      const call = client.subscribe({ filters: [] });
      let error: ServiceError | undefined;
      let received = 0;
      call.on("error", (e: ServiceError) => (error = e));
      call.on("data", () => received++);
      await subscribers(lb.exchange, 1);
      const payload = { typeUrl: EventType.TaskOOM, value: encodeAny(EventTypeUrl.TaskOOM, { containerId: "x".repeat(512) }).value };
      await lb.exchange.publish(ns("default"), "/load", payload);
      while (received === 0) await new Promise((r) => setTimeout(r, 5));
      // Stop reading: HTTP/2 flow control fills up, the server's writes wait, then the exchange queue fills.
      call.pause();
      let published = 0;
      let maxQueued = 0;
      while (lb.exchange.stats().subscribers > 0 && published < 1_000_000) {
        await lb.exchange.publish(ns("default"), "/load", payload);
        published++;
        maxQueued = Math.max(maxQueued, lb.exchange.stats().queued);
        await new Promise((r) => setImmediate(r)); // let the transport run: only backpressure can fill the queue
      }
      expect(lb.exchange.stats()).toEqual({ subscribers: 0, queued: 0 });
      expect(maxQueued).toBeLessThanOrEqual(queueSize);
      call.resume();
      await new Promise<void>((resolve) => {
        if (error) resolve();
        else call.on("error", () => resolve());
      });
      expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(error?.details).toBe(
        "subscription error: events subscriber dropped: more than 4 events waiting to be received: resource exhausted",
      );
    } finally {
      client.close();
      await lb.close();
    }
  });
});
