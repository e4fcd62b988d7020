import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Empty } from "@containerts/api/protobuf";
import { type Envelope, ForwardRequest } from "@containerts/api/services/ttrpc/events/v1";
import { UnavailableError } from "@containerts/errdefs";
import { type TtrpcServer, createTtrpcServer, unaryHandler } from "@containerts/ttrpc";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EventPublisher } from "./grpc/publisher.js";
import { silentLogger } from "./log.js";

let dir = "";
let server: TtrpcServer | undefined;
let publisher: EventPublisher | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tsrunc-pub-"));
});

afterEach(async () => {
  await publisher?.close(100);
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A fake daemon: records envelopes; `fail` makes the next n calls fail. */
async function daemon(path: string, opts: { fail?: number; delayMs?: number } = {}): Promise<Envelope[]> {
  const got: Envelope[] = [];
  let fail = opts.fail ?? 0;
  server = createTtrpcServer();
  server.register("containerd.services.events.ttrpc.v1.Events", {
    Forward: unaryHandler(ForwardRequest, Empty, async (r) => {
      if (fail > 0) {
        fail--;
        throw new UnavailableError("try later");
      }
      if (opts.delayMs !== undefined) await new Promise((res) => setTimeout(res, opts.delayMs));
      if (r.envelope !== undefined) got.push(r.envelope);
      return {};
    }),
  });
  await server.listen(path);
  return got;
}

describe("EventPublisher", () => {
  it("forwards envelopes in order with namespace, topic, a timestamp and a bare type URL", async () => {
    const path = join(dir, "d.sock.ttrpc");
    const got = await daemon(path, { delayMs: 5 });
    publisher = new EventPublisher({ address: `unix://${path}`, namespace: "ns1", log: silentLogger });
    publisher.publish({ topic: "/tasks/start", containerId: "c", pid: 1 });
    publisher.publish({ topic: "/tasks/exit", containerId: "c", id: "c", pid: 1, exitStatus: 0, exitedAt: new Date() });
    publisher.publish({ topic: "/tasks/delete", containerId: "c", pid: 1, exitStatus: 0, exitedAt: new Date() });
    await publisher.drain();
    expect(got.map((e) => e.topic)).toEqual(["/tasks/start", "/tasks/exit", "/tasks/delete"]);
    expect(got.map((e) => e.event?.typeUrl)).toEqual(["containerd.events.TaskStart", "containerd.events.TaskExit", "containerd.events.TaskDelete"]);
    for (const e of got) {
      expect(e.namespace).toBe("ns1");
      expect(e.timestamp?.seconds).toBeGreaterThan(0n);
    }
  });

  it("retries a failed event before sending the next one", async () => {
    const path = join(dir, "d.sock.ttrpc");
    const got = await daemon(path, { fail: 2 });
    publisher = new EventPublisher({ address: path, namespace: "ns", log: silentLogger, retryDelayMs: 10 });
    publisher.publish({ topic: "/tasks/paused", containerId: "a" });
    publisher.publish({ topic: "/tasks/resumed", containerId: "a" });
    await publisher.drain(5000);
    expect(got.map((e) => e.topic)).toEqual(["/tasks/paused", "/tasks/resumed"]);
  });

  it("drops an event after the retries and goes on", async () => {
    const path = join(dir, "d.sock.ttrpc");
    const got = await daemon(path, { fail: 3 });
    publisher = new EventPublisher({ address: path, namespace: "ns", log: silentLogger, retryDelayMs: 1, maxRetries: 2 });
    publisher.publish({ topic: "/tasks/oom", containerId: "a" });
    publisher.publish({ topic: "/tasks/resumed", containerId: "a" });
    await publisher.drain(5000);
    expect(got.map((e) => e.topic)).toEqual(["/tasks/resumed"]);
  });

  it("reconnects when the daemon comes back", async () => {
    const path = join(dir, "d.sock.ttrpc");
    publisher = new EventPublisher({ address: path, namespace: "ns", log: silentLogger, retryDelayMs: 20, timeoutMs: 500 });
    publisher.publish({ topic: "/tasks/paused", containerId: "a" }); // no daemon yet: retried
    await new Promise((r) => setTimeout(r, 30));
    const got = await daemon(path);
    await publisher.drain(5000);
    expect(got.map((e) => e.topic)).toEqual(["/tasks/paused"]);
  });
});
