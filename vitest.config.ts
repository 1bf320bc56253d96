import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vitest/config";

const alias = {
  "@": fileURLToPath(new URL(".", import.meta.url)),
  // Next.js resolves `server-only` to an empty module on the server; tests are the server too.
  "server-only": fileURLToPath(new URL("node_modules/server-only/empty.js", import.meta.url)),
};

const APP_REPLICATE = fileURLToPath(new URL("lib/replicate.ts", import.meta.url));
const TEST_REPLICATE = fileURLToPath(new URL("tests/support/test-replicate.ts", import.meta.url));
const APP_SCHEMA = fileURLToPath(new URL("app/api/ai/replicate/schema.ts", import.meta.url));
const SEED_SCHEMA = fileURLToPath(new URL("tests/support/seed-schema.ts", import.meta.url));

/**
 * The unit suite runs the route with the seed's body schema (tests/support/seed-schema.ts) in place
 * of app/api/ai/replicate/schema.ts, whatever model `npm run model` fitted that file to: the tests
 * that post `{ prompt, seed, image }` keep a body they know. Tests of the committed file itself read
 * it from disk (tests/support/seed-schema-file.ts). The route files' engine (lib/replicate.ts) is
 * the tests' (tests/support/test-replicate.ts): built from the options each test sets, never from
 * process.env.
 */
const seedBodySchema: Plugin = {
  name: "seed-body-schema",
  enforce: "pre",
  async resolveId(source, importer, options) {
    if (/replicate(\.ts)?$/.test(source)) {
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      return resolved?.id === APP_REPLICATE ? TEST_REPLICATE : null;
    }
    if (!/schema(\.ts)?$/.test(source)) return null;
    const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
    return resolved?.id === APP_SCHEMA ? SEED_SCHEMA : null;
  },
};

export default defineConfig({
  resolve: { alias },
  test: {
    // Hide the route's one structured log line per request (tests that check them capture them).
    onConsoleLog: (log) => !log.startsWith('{"time"'),
    projects: [
      {
        resolve: { alias },
        plugins: [seedBodySchema],
        test: {
          name: "unit",
          environment: "node",
          setupFiles: ["tests/support/log-to-console.ts"],
          include: ["tests/**/*.test.ts"],
          exclude: ["tests/e2e/**", "node_modules/**"],
          testTimeout: 20_000,
        },
      },
      {
        // The built app (`next start`) and the simulated Replicate on loopback, driven by Chromium.
        resolve: { alias },
        test: {
          name: "e2e",
          environment: "node",
          include: ["tests/e2e/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
