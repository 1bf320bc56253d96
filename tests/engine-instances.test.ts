/**
 * The engine is a library: `createReplicateRoutes(options)` builds one from a typed object, and
 * each engine owns its state. Two engines in one process share nothing unless given the same
 * stores.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { systemClock } from "@/lib/server/clock";
import { parseRateRule } from "@/lib/server/guard/rate-rule";
import { pollerFor } from "@/lib/server/replicate/poller";
import { createReplicateRoutes, type ReplicateRoutesOptions } from "@/lib/server/replicate-routes";
import { memorySharedState } from "@/lib/server/shared-state/shared-state";
import { BASE, jsonPost, TOKEN, useSimulatedReplicate } from "@/tests/support/route-env";

const { sim } = useSimulatedReplicate();

const APP = "http://app.test/api/ai/replicate";

function options(overrides: Partial<ReplicateRoutesOptions> = {}): ReplicateRoutesOptions {
  return {
    replicate: {
      token: TOKEN,
      target: { kind: "model", owner: "owner", name: "model" },
      baseUrl: BASE,
      pollIntervalMs: 5,
      timeoutSeconds: 5,
      syncWaitSeconds: 0,
    },
    access: { rateLimit: parseRateRule("1/min")! },
    schema: {
      requestBodySchema: z.object({ prompt: z.string() }),
      toModelInput: (body: { prompt: string }) => ({ prompt: body.prompt }),
    },
    ...overrides,
  };
}

const post = (routes: { POST: (request: Request) => Promise<Response> }) => routes.POST(jsonPost(APP, { prompt: "p" }));

describe("an engine built from options", () => {
  it("runs a prediction with no environment variable at all", async () => {
    const routes = createReplicateRoutes(options({ access: {} }));
    const response = await post(routes);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "succeeded" });
    expect(sim.requests.filter((request) => request.kind === "create").map((request) => request.path)).toEqual([
      "/v1/models/owner/model/predictions",
    ]);
  });

  it("reads its time from the clock it is given", async () => {
    let now = Date.UTC(2030, 0, 1);
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms), startTimer: systemClock.startTimer };
    const routes = createReplicateRoutes(options({ access: {}, clock }));
    const response = await routes.schema(new Request(`${APP}/schema`));
    expect(response.status).toBe(200);
    expect(routes.engine.clock.now()).toBe(Date.UTC(2030, 0, 1));
  });
});

describe("two engines in one process", () => {
  it("share nothing: each has its own rate limits, in-flight count, body budget, stores and poller", async () => {
    const a = createReplicateRoutes(options());
    const b = createReplicateRoutes(options());
    expect((await post(a)).status).toBe(200);
    expect((await post(a)).status).toBe(429);
    // The other engine's allowance is untouched.
    expect((await post(b)).status).toBe(200);
    expect(a.engine.inFlight).not.toBe(b.engine.inFlight);
    expect(a.engine.bodyBudget).not.toBe(b.engine.bodyBudget);
    expect(a.engine.shared()).not.toBe(b.engine.shared());
    expect(pollerFor(a.config())).not.toBe(pollerFor(b.config()));
  });

  it("share what they are given: the same stores count one allowance for both", async () => {
    const stores = memorySharedState();
    const a = createReplicateRoutes(options({ stores }));
    const b = createReplicateRoutes(options({ stores }));
    expect((await post(a)).status).toBe(200);
    expect((await post(b)).status).toBe(429);
    expect(a.engine.shared()).toBe(b.engine.shared());
    // Still two engines: their own in-flight counts and pollers.
    expect(a.engine.inFlight).not.toBe(b.engine.inFlight);
    expect(pollerFor(a.config())).not.toBe(pollerFor(b.config()));
  });

  it("answer their own configuration problem, each", async () => {
    const broken = createReplicateRoutes(
      options({ access: {}, replicate: () => ({ token: "", target: { kind: "model", owner: "o", name: "m" } }) }),
    );
    const good = createReplicateRoutes(options({ access: {} }));
    expect((await post(broken)).status).toBe(500);
    expect((await post(good)).status).toBe(200);
  });
});

describe("the engine as a library", () => {
  const engineFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? engineFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
    );
  const files = [...engineFiles("lib/server"), ...engineFiles("lib/shared")];
  const code = (file: string) => readFileSync(file, "utf8").replace(/^\s*\/\/.*$/gm, "");

  it("reads process.env in one place only, the environment adapter", () => {
    expect(files.filter((file) => /process\.env/.test(code(file)))).toEqual(["lib/server/env-options.ts"]);
  });

  it("imports its own modules relatively, and nothing from app/", () => {
    const aliased = files.filter((file) => /from\s+["']@\/|import\(\s*["']@\//.test(code(file)));
    const fromApp = files.filter((file) => /from\s+["'](\.\.\/)+app\//.test(code(file)));
    expect({ aliased, fromApp }).toEqual({ aliased: [], fromApp: [] });
  });

  it("loads ioredis and the AWS SDK only when they are used", () => {
    const staticImports = files.filter((file) =>
      /^import\s+(?!type\b)[^;]*from\s+["'](ioredis|@aws-sdk\/[^"']+)["']/m.test(code(file)),
    );
    expect(staticImports).toEqual([]);
  });
});
