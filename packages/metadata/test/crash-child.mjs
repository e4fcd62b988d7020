// Child process of crash.integration.test.ts: loads test/crash-worker.ts from source through Vite's
// SSR loader (the workspace runs TypeScript sources, Node 20 cannot) and runs it until killed.
import { createViteServer } from "vitest/node";

const [dir, ackFile] = process.argv.slice(2);
const conditions = ["@containerts/source", "import", "node", "default"];
const server = await createViteServer({
  configFile: false,
  root: process.cwd(),
  logLevel: "error",
  server: { middlewareMode: true, hmr: false, ws: false },
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["@containerts/source"] } },
  optimizeDeps: { noDiscovery: true, include: [] },
});
const worker = await server.ssrLoadModule(new URL("./crash-worker.ts", import.meta.url).pathname);
await worker.run(dir, ackFile);
