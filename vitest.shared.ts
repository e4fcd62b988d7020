import { defineConfig } from "vitest/config";
import "./tools/node20-polyfills.mjs";

const polyfills = new URL("./tools/node20-polyfills.mjs", import.meta.url).pathname;

/**
 * Shared vitest configuration: every package's vitest.config.ts re-exports this.
 * Tests run against TypeScript sources through the "@containerts/source" export condition,
 * so no build is needed for unit tests; integration tests that spawn the daemon use dist.
 */
export default defineConfig({
  resolve: { conditions: ["@containerts/source", "import", "module", "node", "default"] },
  ssr: { resolve: { conditions: ["@containerts/source", "import", "node", "default"], externalConditions: ["@containerts/source"] } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    setupFiles: [polyfills],
    reporters: ["default", ["json", { outputFile: "test-report.json" }]],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
