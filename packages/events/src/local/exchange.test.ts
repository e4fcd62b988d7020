import { describe, expect, it } from "vitest";
import { kindOf } from "@containerts/errdefs";
import { type Adaptor, background, withNamespace } from "@containerts/namespaces";
import { type Envelope, type EventPayload, EventType, Topic } from "../index.js";
import { createExchange } from "./index.js";

const ns = (name: string) => withNamespace(background(), name);
const oom = (containerId: string): EventPayload => ({ typeUrl: EventType.TaskOOM, message: { containerId } });

/** Pulls `n` envelopes from an iterable (without ending it). */
async function take(it: AsyncIterator<Envelope>, n: number): Promise<Envelope[]> {
  const out: Envelope[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) throw new Error(`iterator ended after ${out.length} envelopes`);
    out.push(r.value);
  }
  return out;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e as Error,
  );
}

describe("publish", () => {
  it("stamps namespace, topic and a nanosecond timestamp and delivers the payload as given", async () => {
    const ex = createExchange();
    const it = ex.subscribe(background())[Symbol.asyncIterator]();
    const payload = oom("c1");
    const before = Date.now();
    await ex.publish(ns("default"), Topic.TaskOOM, payload);
    const [env] = await take(it, 1);
    expect(env?.namespace).toBe("default");
    expect(env?.topic).toBe("/tasks/oom");
    expect(env?.event).toBe(payload);
    expect(env?.timestamp.getTime()).toBeGreaterThanOrEqual(before - 2);
    expect(env?.timestamp.getTime()).toBeLessThanOrEqual(Date.now() + 2);
    expect(Number.isInteger(env?.timestampNanos)).toBe(true);
    expect(env?.timestampNanos).toBeGreaterThanOrEqual(0);
    expect(env?.timestampNanos).toBeLessThan(1_000_000);
    expect(Object.isFrozen(env)).toBe(true);
  });

  it("takes the time from an injected clock", async () => {
    const ex = createExchange({ clock: () => ({ date: new Date(1_700_000_000_123), nanos: 456_789 }) });
    const it = ex.subscribe(background())[Symbol.asyncIterator]();
    await ex.publish(ns("default"), "/x", oom("c"));
    const [env] = await take(it, 1);
    expect(env?.timestamp.toISOString()).toBe("2023-11-14T22:13:20.123Z");
    expect(env?.timestampNanos).toBe(456_789);
  });

  it("requires a valid namespace in the context", async () => {
    const ex = createExchange();
    const missing = await rejection(ex.publish(background(), "/x", oom("c")));
    expect(kindOf(missing)).toBe("FailedPrecondition");
    expect(missing.message).toBe("failed publishing event: namespace is required: failed precondition");
    const invalid = await rejection(ex.publish(ns("a/b"), "/x", oom("c")));
    expect(kindOf(invalid)).toBe("InvalidArgument");
    expect(invalid.message).toMatch(/^failed publishing event: namespace validation: identifier "a\/b" must match/);
  });

  it.each([
    ["", 'envelope topic "": must not be empty: invalid argument'],
    ["tasks/exit", `envelope topic "tasks/exit": must start with '/': invalid argument`],
    ["/", `envelope topic "/": must have at least one component: invalid argument`],
    ["/tasks//exit", 'envelope topic "/tasks//exit": failed validation on component "": identifier must not be empty: invalid argument'],
    ["/tasks/", 'envelope topic "/tasks/": failed validation on component "": identifier must not be empty: invalid argument'],
    ["/tasks/ex it", 'envelope topic "/tasks/ex it": failed validation on component "ex it": identifier "ex it" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument'],
    [`/${"a".repeat(77)}`, `envelope topic "/${"a".repeat(77)}": failed validation on component "${"a".repeat(77)}": identifier "${"a".repeat(77)}" greater than maximum length (76 characters): invalid argument`],
  ])("refuses topic %j", async (topic, message) => {
    const ex = createExchange();
    const err = await rejection(ex.publish(ns("default"), topic, oom("c")));
    expect(kindOf(err)).toBe("InvalidArgument");
    expect(err.message).toBe(message);
    const fwd = await rejection(ex.forward(background(), { timestamp: new Date(), namespace: "default", topic, event: oom("c") }));
    expect(fwd.message).toBe(message);
  });

  it.each(["/tasks/exec-added", "/snapshot/prepare", "/a", "/a.b/c_d/e-f/1"])("accepts topic %j", async (topic) => {
    const ex = createExchange();
    const it = ex.subscribe(background())[Symbol.asyncIterator]();
    await ex.publish(ns("default"), topic, oom("c"));
    expect((await take(it, 1))[0]?.topic).toBe(topic);
  });

  it("runs the injected payload validation and refuses what it throws on", async () => {
    const ex = createExchange({
      validatePayload: (p) => {
        if (p.typeUrl === "bad") throw new TypeError("cannot encode");
      },
    });
    await expect(ex.publish(ns("default"), "/x", { typeUrl: "bad", message: {} })).rejects.toThrow("cannot encode");
    await expect(
      ex.forward(background(), { timestamp: new Date(), namespace: "default", topic: "/x", event: { typeUrl: "bad", message: {} } }),
    ).rejects.toThrow("cannot encode");
    await ex.publish(ns("default"), "/x", { typeUrl: "good", message: {} });
  });
});

describe("forward", () => {
  it("delivers an envelope unchanged, whatever the context's namespace", async () => {
    const ex = createExchange();
    const it = ex.subscribe(background())[Symbol.asyncIterator]();
    const timestamp = new Date("2026-11-28T11:57:56.397Z");
    const event: EventPayload = { typeUrl: "containerd.events.TaskOOM", value: Uint8Array.from([0x0a, 0x01, 0x63]) };
    await ex.forward(ns("other"), { timestamp, timestampNanos: 546_020, namespace: "shim-ns", topic: "/tasks/oom", event });
    const [env] = await take(it, 1);
    expect(env).toEqual({ timestamp, timestampNanos: 546_020, namespace: "shim-ns", topic: "/tasks/oom", event });
    expect(env?.event).toBe(event);
  });

  it("validates namespace, topic and timestamp like containerd", async () => {
    const ex = createExchange();
    const base = { timestamp: new Date(), namespace: "default", topic: "/tasks/oom", event: oom("c") };
    const badNs = await rejection(ex.forward(background(), { ...base, namespace: "" }));
    expect(kindOf(badNs)).toBe("InvalidArgument");
    expect(badNs.message).toBe("event envelope has invalid namespace: identifier must not be empty: invalid argument");
    const zero = await rejection(ex.forward(background(), { ...base, timestamp: new Date(-62_135_596_800_000) }));
    expect(kindOf(zero)).toBe("InvalidArgument");
    expect(zero.message).toBe("timestamp must be set on forwarded event: invalid argument");
    await expect(ex.forward(background(), { ...base, timestamp: new Date(Number.NaN) })).rejects.toThrow("timestamp must be set");
    await expect(ex.forward(background(), { ...base, timestampNanos: 1_000_000 })).rejects.toThrow("invalid argument");
    // Go's zero time plus a nanosecond is not zero; the Unix epoch is not zero either.
    await ex.forward(background(), { ...base, timestamp: new Date(-62_135_596_800_000), timestampNanos: 1 });
    await ex.forward(background(), { ...base, timestamp: new Date(0) });
  });
});

describe("subscribe filters", () => {
  async function matches(filters: string[], publish: (ex: ReturnType<typeof createExchange>) => Promise<void>): Promise<string[]> {
    const ex = createExchange();
    const ac = new AbortController();
    const sub = ex.subscribe(background(ac.signal), filters)[Symbol.asyncIterator]();
    await publish(ex);
    await ex.publish(ns("end"), "/end", oom("end"));
    const got: string[] = [];
    const n = ex.stats().queued; // what the filter let through, all queued by now
    for (let i = 0; i < n; i++) {
      const r = await sub.next();
      if (r.done) break;
      got.push(`${r.value.namespace} ${r.value.topic}`);
    }
    ac.abort();
    return got;
  }

  const events = async (ex: ReturnType<typeof createExchange>) => {
    await ex.publish(ns("default"), "/tasks/exit", { typeUrl: EventType.TaskExit, message: { containerId: "c1", id: "c1", pid: 7, exitStatus: 0 } });
    await ex.publish(ns("other"), "/tasks/exit", { typeUrl: EventType.TaskExit, message: { containerId: "c2", id: "e1", pid: 8 } });
    await ex.publish(ns("default"), "/containers/create", {
      typeUrl: EventType.ContainerCreate,
      message: { id: "c3", image: "busybox", runtime: { name: "io.containerd.runc.v2" } },
    });
    await ex.publish(ns("default"), "/namespaces/create", {
      typeUrl: EventType.NamespaceCreate,
      message: { name: "n1", labels: { "containerd.io/x": "1", "a.b": "dotted" } },
    });
    await ex.publish(ns("default"), "/tasks/create", {
      typeUrl: EventType.TaskCreate,
      message: { containerId: "c4", io: { stdin: "", stdout: "/fifo/out", terminal: true } },
    });
  };

  it.each<[string[], string[]]>([
    [[], ["default /tasks/exit", "other /tasks/exit", "default /containers/create", "default /namespaces/create", "default /tasks/create", "end /end"]],
    [[""], ["default /tasks/exit", "other /tasks/exit", "default /containers/create", "default /namespaces/create", "default /tasks/create", "end /end"]],
    [['topic=="/tasks/exit"'], ["default /tasks/exit", "other /tasks/exit"]],
    [["namespace==other"], ["other /tasks/exit"]],
    [['namespace==default,topic=="/tasks/exit"'], ["default /tasks/exit"]],
    [["namespace==other", 'topic=="/containers/create"'], ["other /tasks/exit", "default /containers/create"]],
    [["namespace!=default"], ["other /tasks/exit", "end /end"]],
    [["topic~=^/tasks/"], ["default /tasks/exit", "other /tasks/exit", "default /tasks/create"]],
    [["event.container_id==c2"], ["other /tasks/exit"]],
    [["event.id==e1"], ["other /tasks/exit"]],
    [["event.runtime.name==io.containerd.runc.v2"], ["default /containers/create"]],
    [['event.labels."containerd.io/x"==1'], ["default /namespaces/create"]],
    [['event.labels."a.b"==dotted'], ["default /namespaces/create"]],
    [["event.labels.a.b==dotted"], ["default /namespaces/create"]],
    [["event.io.stdout"], ["default /tasks/create"]],
    [["event.io.terminal==true"], ["default /tasks/create"]],
    [["event.io.stdin"], []],
    [["event.pid==7"], []],
    [["event.image"], ["default /containers/create"]],
  ])("%j", async (filters, expected) => {
    expect(await matches(filters, events)).toEqual(expected);
  });

  it("throws InvalidArgument from the iterator for a malformed filter", async () => {
    const ex = createExchange();
    const it = ex.subscribe(background(), ["topic==/tasks/exit"])[Symbol.asyncIterator]();
    const err = await rejection(it.next());
    expect(kindOf(err)).toBe("InvalidArgument");
    expect(err.message).toBe(
      "failed parsing subscription filters: filters: parse error: [topic== >|/|< tasks/exit]: invalid quote encountered: invalid argument",
    );
    expect(ex.stats().subscribers).toBe(0);
  });

  it("reads event fields through the injected adaptor, once per envelope and only when a filter needs them", async () => {
    const calls: string[] = [];
    const ex = createExchange({
      eventFields: (p): Adaptor => {
        calls.push(p.typeUrl);
        if (p.typeUrl === "boom") throw new Error("undecodable");
        return { field: (path) => (path[0] === "k" ? "v" : undefined) };
      },
    });
    const a = ex.subscribe(background(), ["event.k==v"])[Symbol.asyncIterator]();
    const b = ex.subscribe(background(), ["event.k"])[Symbol.asyncIterator]();
    const c = ex.subscribe(background(), ["topic==x"]);
    void c;
    await ex.publish(ns("default"), "/x", { typeUrl: "t", value: new Uint8Array() });
    await ex.publish(ns("default"), "/x", { typeUrl: "boom", value: new Uint8Array() });
    expect(calls).toEqual(["t", "boom"]);
    expect((await take(a, 1))[0]?.event.typeUrl).toBe("t");
    expect((await take(b, 1))[0]?.event.typeUrl).toBe("t");
    expect(ex.stats().queued).toBe(0);

    const plain = createExchange({ eventFields: () => { throw new Error("must not be called"); } });
    const all = plain.subscribe(background(), ["namespace==default"])[Symbol.asyncIterator]();
    await plain.publish(ns("default"), "/x", oom("c"));
    expect((await take(all, 1)).length).toBe(1);
  });

  it("sees no fields in encoded payloads with the default adaptor", async () => {
    const ex = createExchange();
    const it = ex.subscribe(background(), ["event.container_id==c"])[Symbol.asyncIterator]();
    await ex.publish(ns("default"), "/x", { typeUrl: EventType.TaskOOM, value: Uint8Array.from([0x0a, 0x01, 0x63]) });
    await ex.publish(ns("default"), "/x", oom("c"));
    const [env] = await take(it, 1);
    expect(env?.event.message).toEqual({ containerId: "c" });
  });
});

describe("delivery", () => {
  it("keeps publish order per subscriber, across publish and forward", async () => {
    const ex = createExchange({ queueSize: 5000 });
    const a = ex.subscribe(background())[Symbol.asyncIterator]();
    const b = ex.subscribe(background(), ["namespace==default"])[Symbol.asyncIterator]();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 2000; i++) {
      pending.push(
        i % 2 === 0
          ? ex.publish(ns("default"), "/seq", oom(String(i)))
          : ex.forward(background(), { timestamp: new Date(), namespace: "default", topic: "/seq", event: oom(String(i)) }),
      );
    }
    await Promise.all(pending);
    const ids = (envs: Envelope[]) => envs.map((e) => e.event.message?.["containerId"]);
    const expected = Array.from({ length: 2000 }, (_, i) => String(i));
    expect(ids(await take(a, 2000))).toEqual(expected);
    expect(ids(await take(b, 2000))).toEqual(expected);
  });

  it("hands an envelope to a waiting consumer at once", async () => {
    const ex = createExchange();
    const it = ex.subscribe(background())[Symbol.asyncIterator]();
    const next = it.next();
    await ex.publish(ns("default"), "/x", oom("w"));
    expect((await next).value?.event.message).toEqual({ containerId: "w" });
    expect(ex.stats()).toEqual({ subscribers: 1, queued: 0 });
  });

  it("drops a subscriber that falls behind, without blocking publishers, and keeps memory bounded", async () => {
    const queueSize = 8;
    const ex = createExchange({ queueSize });
    const stalled = ex.subscribe(background())[Symbol.asyncIterator]();
    const fast = ex.subscribe(background())[Symbol.asyncIterator]();
    let maxQueued = 0;
    let received = 0;
    const total = 20_000;
    for (let i = 0; i < total; i++) {
      await ex.publish(ns("default"), "/load", oom(String(i)));
      maxQueued = Math.max(maxQueued, ex.stats().queued);
      // the fast subscriber drains as it goes
      const r = await fast.next();
      if (!r.done && r.value.event.message?.["containerId"] === String(i)) received++;
    }
    expect(received).toBe(total);
    expect(maxQueued).toBeLessThanOrEqual(2 * queueSize); // two subscribers
    expect(ex.stats()).toEqual({ subscribers: 1, queued: 0 });
    const err = await rejection(stalled.next());
    expect(kindOf(err)).toBe("ResourceExhausted");
    expect(err.message).toBe("events subscriber dropped: more than 8 events waiting to be received: resource exhausted");
    expect(await stalled.next()).toEqual({ done: true, value: undefined });
  });

  it("bounds memory when nobody reads at all", async () => {
    const ex = createExchange({ queueSize: 16 });
    const subs = Array.from({ length: 10 }, () => ex.subscribe(background()));
    void subs;
    for (let i = 0; i < 10_000; i++) {
      await ex.publish(ns("default"), "/load", oom("x"));
      expect(ex.stats().queued).toBeLessThanOrEqual(16 * 10);
    }
    expect(ex.stats()).toEqual({ subscribers: 0, queued: 0 });
  });

  it("delivers only what is published after subscribe (no replay)", async () => {
    const ex = createExchange();
    await ex.publish(ns("default"), "/before", oom("b"));
    const it = ex.subscribe(background())[Symbol.asyncIterator]();
    await ex.publish(ns("default"), "/after", oom("a"));
    expect((await take(it, 1))[0]?.topic).toBe("/after");
    expect(ex.stats().queued).toBe(0);
  });

  it("ends the iterator when the context aborts, and when the consumer breaks", async () => {
    const ex = createExchange();
    const ac = new AbortController();
    const it = ex.subscribe(background(ac.signal))[Symbol.asyncIterator]();
    const pending = it.next();
    await ex.publish(ns("default"), "/x", oom("1"));
    await ex.publish(ns("default"), "/x", oom("2"));
    expect((await pending).done).toBe(false);
    ac.abort();
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(ex.stats()).toEqual({ subscribers: 0, queued: 0 });

    const waiting = ex.subscribe(background(AbortSignal.abort()))[Symbol.asyncIterator]();
    expect(await waiting.next()).toEqual({ done: true, value: undefined });
    expect(ex.stats().subscribers).toBe(0);

    const loop = ex.subscribe(background());
    const consumed = (async () => {
      for await (const env of loop) if (env.topic === "/stop") break;
    })();
    await ex.publish(ns("default"), "/stop", oom("s"));
    await consumed;
    expect(ex.stats().subscribers).toBe(0);
  });

  it("close ends every subscription and later ones", async () => {
    const ex = createExchange();
    const a = ex.subscribe(background())[Symbol.asyncIterator]();
    const pending = a.next();
    ex.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await ex.subscribe(background())[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    await ex.publish(ns("default"), "/x", oom("x"));
    expect(ex.stats()).toEqual({ subscribers: 0, queued: 0 });
  });

  it("refuses a queue size below 1", () => {
    expect(() => createExchange({ queueSize: 0 })).toThrow("events queue size 0 must be an integer of at least 1: invalid argument");
    expect(() => createExchange({ queueSize: 1.5 })).toThrow("invalid argument");
  });
});
