/**
 * Events end to end: the built containertsd, the stock containerd 1.6 `ctr events` as a subscriber,
 * namespace events from `ctr namespaces`, and a shim-style raw ttrpc Forward on `<address>.ttrpc`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { connectTtrpcClient, unaryMethod, type TtrpcClient } from "@containerts/ttrpc";
import { Empty } from "@containerts/api/protobuf";
import { ForwardRequest } from "@containerts/api/services/ttrpc/events/v1";
import { EventTypeUrl, encodeAny, toTimestamp } from "@containerts/api/typeurl";
import { ctr, startContainertsd, type TestDaemon } from "@containerts/testkit";

const forward = unaryMethod("containerd.services.events.ttrpc.v1.Events", "Forward", ForwardRequest, Empty);

/** Escapes a string for use inside a RegExp. */
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("events with the stock ctr", () => {
  let d: TestDaemon | undefined;
  let events: ChildProcess | undefined;
  let ttrpc: TtrpcClient | undefined;

  afterEach(async () => {
    await ttrpc?.close().catch(() => undefined);
    ttrpc = undefined;
    const child = events;
    events = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      process.kill(child.pid, "SIGKILL");
      await exited;
    }
    await d?.cleanup();
    d = undefined;
  });

  it("shows namespace events and ttrpc-forwarded shim events in ctr events", async () => {
    d = await startContainertsd();
    const daemon = d;
    const child = spawn("ctr", ["--address", daemon.address, "events"], { stdio: ["ignore", "pipe", "pipe"] });
    events = child;
    let out = "";
    let err = "";
    child.stdout?.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.stderr?.setEncoding("utf8").on("data", (s: string) => (err += s));

    /** Waits until ctr events printed a line matching `pattern` (or fails with what it printed). */
    const printed = async (pattern: RegExp, poke?: () => Promise<void>): Promise<string> => {
      for (let i = 0; i < 300; i++) {
        const line = out.split("\n").find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (child.exitCode !== null) break;
        if (poke && i % 5 === 0) await poke();
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`ctr events printed no line matching ${pattern}\nstdout:\n${out}\nstderr:\n${err}\ndaemon:\n${daemon.logs()}`);
    };

    // A shim's Forward on <address>.ttrpc: repeated until ctr's subscription is live (no acknowledgement).
    const client = await connectTtrpcClient(`${daemon.address}.ttrpc`);
    ttrpc = client;
    const oom = await printed(/ default \/tasks\/oom \{"container_id":"oom-probe"\}$/, async () => {
      await forward(client, {
        envelope: {
          timestamp: toTimestamp({ date: new Date(), nanos: 123_456 }),
          namespace: "default",
          topic: "/tasks/oom",
          event: encodeAny(EventTypeUrl.TaskOOM, { containerId: "oom-probe" }),
        },
      });
    });
    // ctr prints Go's time.Time: "2006-01-02 15:04:05.999999999 +0000 UTC"
    expect(oom).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d*456 \+0000 UTC default \/tasks\/oom /);

    const created = await ctr(daemon, ["namespaces", "create", "x", "a=b"]);
    expect(created.code, created.stderr).toBe(0);
    const line = await printed(/ \/namespaces\/create /);
    expect(line).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\S+ \\+0000 UTC default ${re('/namespaces/create {"name":"x","labels":{"a":"b"}}')}$`));

    expect((await ctr(daemon, ["namespaces", "label", "x", "c=d"])).code).toBe(0);
    expect(await printed(/ \/namespaces\/update /)).toMatch(new RegExp(` default ${re('/namespaces/update {"name":"x","labels":{"c":"d"}}')}$`));

    expect((await ctr(daemon, ["namespaces", "remove", "x"])).code).toBe(0);
    expect(await printed(/ \/namespaces\/delete /)).toMatch(new RegExp(` x ${re('/namespaces/delete {"name":"x"}')}$`));

    // The subscription is still streaming.
    expect(child.exitCode).toBeNull();
  });

  it("applies ctr events filters and refuses a malformed one", async () => {
    d = await startContainertsd();
    const daemon = d;
    const child = spawn("ctr", ["--address", daemon.address, "events", 'topic=="/tasks/oom",event.container_id==wanted'], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    events = child;
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (s: string) => (out += s));
    const client = await connectTtrpcClient(`${daemon.address}.ttrpc`);
    ttrpc = client;
    const send = (containerId: string) =>
      forward(client, {
        envelope: {
          timestamp: toTimestamp(new Date()),
          namespace: "default",
          topic: "/tasks/oom",
          event: encodeAny(EventTypeUrl.TaskOOM, { containerId }),
        },
      });
    for (let i = 0; i < 300 && !out.includes("wanted"); i++) {
      await send("unwanted");
      await ctr(daemon, ["namespaces", "create", `n${i}`]);
      await send("wanted");
      await new Promise((r) => setTimeout(r, 50));
    }
    const lines = out.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/ default \/tasks\/oom \{"container_id":"wanted"\}$/);

    const bad = await ctr(daemon, ["events", "topic==/tasks/oom"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("subscription error: failed parsing subscription filters: filters: parse error");
  });
});
