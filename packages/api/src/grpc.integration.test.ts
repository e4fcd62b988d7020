/**
 * The generated grpc-js service definitions and clients talk to each other over a unix socket.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskExit } from "./events.js";
import type { Empty } from "./protobuf.js";
import { EventsClient, EventsService, type Envelope, type EventsServer } from "./services/events/v1.js";
import { VersionClient, VersionService, type VersionResponse, type VersionServer } from "./services/version/v1.js";
import { EventTypeUrl, decodeAnyAs, encodeAny, toTimestamp } from "./typeurl.js";

describe("generated grpc-js services over a unix socket", () => {
  let dir: string | undefined;
  let server: grpc.Server | undefined;
  let address = "";
  const clients: grpc.Client[] = [];
  const namespaces: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "containerts-api-grpc-"));
    address = `unix://${join(dir, "grpc.sock")}`;
    const version: VersionServer = {
      version: (call, callback) => {
        namespaces.push(String(call.metadata.get("containerd-namespace")[0] ?? ""));
        callback(null, { version: "1.6.20", revision: "containerts" });
      },
    };
    const events: EventsServer = {
      publish: (_call, callback) => callback(null, {}),
      forward: (_call, callback) => callback(null, {}),
      subscribe: (call) => {
        const exit = TaskExit.fromPartial({ containerId: "c1", id: "c1", pid: 42, exitStatus: 137 });
        call.write({
          timestamp: toTimestamp({ date: new Date("2026-11-28T11:57:56.397Z"), nanos: 546_020 }),
          namespace: "default",
          topic: "/tasks/exit",
          event: encodeAny(EventTypeUrl.TaskExit, exit),
        });
        call.end();
      },
    };
    server = new grpc.Server();
    server.addService(VersionService, version);
    server.addService(EventsService, events);
    const s = server;
    await new Promise<void>((resolve, reject) =>
      s.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    const s = server;
    if (s !== undefined) await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("answers Version", async () => {
    const client = new VersionClient(address, grpc.credentials.createInsecure());
    clients.push(client);
    const metadata = new grpc.Metadata();
    metadata.set("containerd-namespace", "default");
    const empty: Empty = {};
    const res = await new Promise<VersionResponse>((resolve, reject) =>
      client.version(empty, metadata, (err, r) => (err ? reject(err) : resolve(r))),
    );
    expect(res).toEqual({ version: "1.6.20", revision: "containerts" });
    expect(namespaces).toEqual(["default"]);
    expect(VersionService.version.path).toBe("/containerd.services.version.v1.Version/Version");
  });

  it("streams Events.Subscribe envelopes with bare type URLs and nanosecond timestamps", async () => {
    const client = new EventsClient(address, grpc.credentials.createInsecure());
    clients.push(client);
    const received: Envelope[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = client.subscribe({ filters: ['topic=="/tasks/exit"'] });
      stream.on("data", (e: Envelope) => received.push(e));
      stream.on("error", reject);
      stream.on("end", () => resolve());
    });
    expect(received).toHaveLength(1);
    const [env] = received;
    expect(env?.timestamp).toEqual({ seconds: 1_795_867_076n, nanos: 397_546_020 });
    expect(env?.event?.typeUrl).toBe("containerd.events.TaskExit");
    expect(decodeAnyAs(env!.event!, EventTypeUrl.TaskExit).exitStatus).toBe(137);
  });
});
