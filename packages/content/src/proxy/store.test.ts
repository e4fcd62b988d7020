import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { background } from "@containerts/namespaces";

import { serveContent } from "../../test/loopback.js";
import { LocalContentStore } from "../local/store.js";
import { contentSuite } from "../testsuite/index.js";
import { ProxyContentStore } from "./store.js";

// The whole conformance suite through the proxy, the gRPC adapter and the local store.
contentSuite("proxy over gRPC (local store)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "containerts-content-proxy-"));
  const server = await serveContent(await LocalContentStore.open(dir));
  const store = new ProxyContentStore(server.target);
  return {
    store,
    ctx: background(),
    async cleanup() {
      store.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
