/**
 * The simulated Replicate behind msw for tests that call the route handlers in-process, with the
 * variables their engine is built from (tests/support/test-engine.ts: a record handed to the
 * environment adapter, never process.env). `onUnhandledRequest: "error"`: nothing can reach the
 * network.
 */
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { SimulatedReplicate, type SimulatedReplicateOptions } from "@/dev/simulator/simulated-replicate";
import { simulatorHandlers } from "@/dev/simulator/msw";
import { handleKey, toHandle } from "@/lib/server/replicate/prediction-handle";
import { resetEngine, setVariables } from "@/tests/support/test-engine";

export { setVariables, testConfig, testEngine, testRoutes, variable } from "@/tests/support/test-engine";

export const BASE = "https://api.replicate.test/v1";
export const TOKEN = "r8_route_test_token_b7d1";

const DEFAULT_ENV = {
  REPLICATE_API_TOKEN: TOKEN,
  REPLICATE_MODEL: "owner/model",
  REPLICATE_MODEL_VERSION: "",
  REPLICATE_DEPLOYMENT: "",
  REPLICATE_API_BASE_URL: BASE,
  REPLICATE_POLL_INTERVAL_MS: "5",
  REPLICATE_TIMEOUT_SECONDS: "5",
  REPLICATE_SYNC_WAIT_SECONDS: "0",
  REPLICATE_MAX_BODY_BYTES: "",
  REPLICATE_INLINE_MAX_BYTES: "",
  REPLICATE_POLL_BUDGET_PER_MINUTE: "",
  REPLICATE_CREATES_PER_MINUTE: "",
  REPLICATE_ASYNC_TIMEOUT_SECONDS: "",
  PREDICTION_HANDLE_SECRET: "",
  // A test that turns webhooks on does not leave them on for the next.
  REPLICATE_WEBHOOK_URL: "",
  REPLICATE_WEBHOOK_SECRET: "",
};

/** The route's variables: the tests' defaults, then `overrides` (the guards' and others are left as they are). */
export function setEnv(overrides: Record<string, string> = {}) {
  setVariables({ ...DEFAULT_ENV, ...overrides });
}

export function useSimulatedReplicate(options: SimulatedReplicateOptions = {}) {
  const sim = new SimulatedReplicate({ token: TOKEN, bootMs: 5, runMs: 30, ...options });
  const server = setupServer(...simulatorHandlers(sim, BASE));
  beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
  beforeEach(() => (setEnv(), resetEngine()));
  afterEach(() => {
    server.resetHandlers();
    sim.reset();
    sim.config.maxSyncWaitMs = 60_000;
  });
  afterAll(() => server.close());
  return { sim, server };
}

export function jsonPost(
  url: string,
  body: unknown,
  init: { signal?: AbortSignal; raw?: string; headers?: Record<string, string> } = {},
) {
  return new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...init.headers },
    body: init.raw ?? JSON.stringify(body),
    signal: init.signal,
  });
}

// A hang guard, not a timing assertion: generous, so a busy machine never fails a test that only waits.
export async function until(condition: () => boolean, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** The handle (`Location`'s last segment) the route gives `caller` for prediction `id`, as the tests' token signs it. */
export function handleOf(id: string, caller: { identity: string | null } = { identity: null }): string {
  return toHandle(handleKey(TOKEN), id, caller);
}
