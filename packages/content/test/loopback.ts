/** Test helper: serves a content store over the Content gRPC service on a temporary unix socket. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Server, ServerCredentials, credentials } from "@grpc/grpc-js";

import type { ContentStore } from "../src/content.js";
import { createContentServer } from "../src/grpc/server.js";
import type { ProxyTarget } from "../src/proxy/store.js";

/** A running loopback server. */
export interface Loopback {
  readonly target: ProxyTarget;
  readonly address: string;
  close(): Promise<void>;
}

/** Serves `store` on `<tmp>/content.sock` with containerd's 16 MiB message limits. */
export async function serveContent(store: ContentStore): Promise<Loopback> {
  const dir = await mkdtemp(join(tmpdir(), "content-grpc-"));
  const server = new Server({
    "grpc.max_receive_message_length": 16 << 20,
    "grpc.max_send_message_length": 16 << 20,
  });
  createContentServer(store).register(server);
  const address = `unix://${join(dir, "content.sock")}`;
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return {
    address,
    target: {
      address,
      credentials: credentials.createInsecure(),
      options: { "grpc.max_receive_message_length": 16 << 20, "grpc.max_send_message_length": 16 << 20 },
    },
    async close() {
      server.forceShutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
