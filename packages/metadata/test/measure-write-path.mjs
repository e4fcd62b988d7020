// Runs test/measure-write-path.ts from source (see that file). Usage: node test/measure-write-path.mjs
import { createViteServer } from "vitest/node";

const conditions = ["@containerts/source", "import", "node", "default"];
const server = await createViteServer({
  configFile: false,
  root: new URL("..", import.meta.url).pathname,
  logLevel: "error",
  server: { middlewareMode: true, hmr: false, ws: false },
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["@containerts/source"] } },
  optimizeDeps: { noDiscovery: true, include: [] },
});
try {
  const m = await server.ssrLoadModule(new URL("./measure-write-path.ts", import.meta.url).pathname);
  process.stdout.write(`${await m.measure()}\n`);
} finally {
  await server.close();
}
