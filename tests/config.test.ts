import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { replicateOptionsFromEnv } from "@/lib/server/env-options";
import { createReplicateRoutes } from "@/lib/server/replicate-routes";
import { POST } from "@/app/api/ai/replicate/route";
import { MAX_TIMEOUT_SECONDS, parseConfig, parseGuardConfig } from "@/lib/server/config";
import { Problem } from "@/lib/server/problem";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { testConfig } from "@/tests/support/test-engine";

const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 10 });

const VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa";
const base = { REPLICATE_API_TOKEN: "r8_test", REPLICATE_MODEL: "owner/model" };

function problemOf(env: Record<string, string | undefined>): Problem {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error("expected a configuration problem");
}

describe("configuration from the environment", () => {
  it("applies the documented defaults", () => {
    expect(parseConfig(base)).toEqual({
      token: "r8_test",
      target: { kind: "model", owner: "owner", name: "model" },
      baseUrl: "https://api.replicate.com/v1",
      pollIntervalMs: 1000,
      timeoutSeconds: 60,
      syncWaitSeconds: 5,
      asyncTimeoutSeconds: 1800,
      maxBodyBytes: 10 * 1024 * 1024,
      inlineMaxBytes: 256 * 1024,
      webhookMaxBodyBytes: 4 * 1024 * 1024,
      pollBudgetPerMinute: 2400,
      createsPerMinute: 600,
      handleSecret: "r8_test",
    });
  });

  it("names a missing token in a 500 problem", () => {
    const problem = problemOf({ REPLICATE_MODEL: "a/b" });
    expect(problem.status).toBe(500);
    expect(problem.detail).toContain("REPLICATE_API_TOKEN");
  });

  it("requires exactly one model target, naming them", () => {
    expect(problemOf({ REPLICATE_API_TOKEN: "t" }).detail).toMatch(
      /REPLICATE_MODEL_VERSION.*REPLICATE_MODEL.*REPLICATE_DEPLOYMENT.*none/,
    );
    const several = problemOf({ ...base, REPLICATE_DEPLOYMENT: "a/b" }).detail;
    expect(several).toContain("REPLICATE_MODEL and REPLICATE_DEPLOYMENT");
  });

  it("counts an empty variable as unset", () => {
    expect(parseConfig({ ...base, REPLICATE_DEPLOYMENT: "", REPLICATE_POLL_INTERVAL_MS: " " }).pollIntervalMs).toBe(1000);
  });

  it("accepts a version id or owner/name:version, sent verbatim", () => {
    expect(parseConfig({ REPLICATE_API_TOKEN: "t", REPLICATE_MODEL_VERSION: VERSION }).target).toEqual({
      kind: "version",
      version: VERSION,
    });
    const pinned = `stability-ai/sdxl:${VERSION}`;
    expect(parseConfig({ REPLICATE_API_TOKEN: "t", REPLICATE_MODEL_VERSION: pinned }).target).toEqual({
      kind: "version",
      version: pinned,
    });
    expect(problemOf({ REPLICATE_API_TOKEN: "t", REPLICATE_MODEL_VERSION: "latest" }).detail).toContain(
      "REPLICATE_MODEL_VERSION",
    );
  });

  it("parses a deployment into owner and name", () => {
    expect(parseConfig({ REPLICATE_API_TOKEN: "t", REPLICATE_DEPLOYMENT: "acme/sdxl-prod" }).target).toEqual({
      kind: "deployment",
      owner: "acme",
      name: "sdxl-prod",
    });
  });

  it.each([
    ["REPLICATE_POLL_INTERVAL_MS", "soon"],
    ["REPLICATE_TIMEOUT_SECONDS", "-1"],
    ["REPLICATE_SYNC_WAIT_SECONDS", "1.5"],
    ["REPLICATE_API_BASE_URL", "ftp://example.com"],
    ["REPLICATE_MAX_BODY_BYTES", "0"],
    ["REPLICATE_INLINE_MAX_BYTES", "-1"],
    ["REPLICATE_INLINE_MAX_BYTES", "104857601"],
    ["REPLICATE_MODEL", "no-slash"],
  ])("names malformed %s", (name, value) => {
    expect(problemOf({ ...base, [name]: value }).detail).toContain(name);
  });

  it("clamps the sync wait to 1..60 and to the timeout, 0 turning it off", () => {
    expect(parseConfig({ ...base, REPLICATE_SYNC_WAIT_SECONDS: "120" }).syncWaitSeconds).toBe(60);
    expect(parseConfig({ ...base, REPLICATE_SYNC_WAIT_SECONDS: "30", REPLICATE_TIMEOUT_SECONDS: "10" }).syncWaitSeconds).toBe(10);
    expect(parseConfig({ ...base, REPLICATE_SYNC_WAIT_SECONDS: "0" }).syncWaitSeconds).toBe(0);
  });

  it("strips a trailing slash from the base URL", () => {
    expect(parseConfig({ ...base, REPLICATE_API_BASE_URL: "http://127.0.0.1:4010/v1/" }).baseUrl).toBe(
      "http://127.0.0.1:4010/v1",
    );
  });

  it("is parsed once per engine, at its first request, and a problem is answered again at each", async () => {
    let parses = 0;
    const env = { ...base };
    const routes = createReplicateRoutes({
      ...replicateOptionsFromEnv(env),
      replicate: () => (parses++, parseConfig(env)),
      schema: { requestBodySchema: z.object({}), toModelInput: () => ({}) },
    });
    expect(parses).toBe(0);
    expect(routes.config()).toBe(routes.config());
    expect(parses).toBe(1);
    const broken = createReplicateRoutes({
      ...replicateOptionsFromEnv({}),
      schema: { requestBodySchema: z.object({}), toModelInput: () => ({}) },
    });
    expect(() => broken.config()).toThrow(/REPLICATE_API_TOKEN is required/);
    expect(() => broken.config()).toThrow(/REPLICATE_API_TOKEN is required/);
  });

  it("refuses a timeout whose Cancel-After (cap + 5 s) Replicate would refuse, naming the variable and the range", () => {
    expect(parseConfig({ ...base, REPLICATE_TIMEOUT_SECONDS: "86395" }).timeoutSeconds).toBe(86_395);
    for (const value of ["86400", "86396", "100000"]) {
      expect(problemOf({ ...base, REPLICATE_TIMEOUT_SECONDS: value }).detail).toBe(
        "REPLICATE_TIMEOUT_SECONDS must be at most 86395.",
      );
    }
  });

  it("accepts a cap past Replicate's 30-minute run limit with a warning, logged once, that Replicate ends runs there", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const runLimit = () =>
        warn.mock.calls.map(([line]) => String(line)).filter((line) => line.includes("timeout_past_run_limit"));
      const engineFor = (env: Record<string, string>) =>
        createReplicateRoutes({
          ...replicateOptionsFromEnv(env),
          schema: { requestBodySchema: z.object({}), toModelInput: () => ({}) },
        });
      expect(engineFor({ ...base, REPLICATE_TIMEOUT_SECONDS: "1800" }).config().timeoutSeconds).toBe(1800);
      expect(runLimit()).toEqual([]);
      const routes = engineFor({ ...base, REPLICATE_TIMEOUT_SECONDS: "3600" });
      for (let i = 0; i < 3; i += 1) expect(routes.config().timeoutSeconds).toBe(3600);
      expect(runLimit()).toHaveLength(1);
      expect(runLimit()[0]).toMatch(/REPLICATE_TIMEOUT_SECONDS=3600 .*Replicate ends runs at 30 minutes.*limit was raised/);
    } finally {
      warn.mockRestore();
    }
  });

  it("runs a prediction at the longest cap accepted: its Cancel-After (what is left of the cap + 5 s) is within Replicate's 24 h", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: String(MAX_TIMEOUT_SECONDS) });
    const response = await POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "p" }));
    expect(response.status).toBe(200);
    // The time left to the cap when the create is sent (whole seconds, rounded down) plus 5 s.
    expect(sim.requests.find((request) => request.kind === "create")?.headers["cancel-after"]).toMatch(/^86(399|400)s$/);
  });

  it("takes the sync wait in whole seconds only, and turns it off under a cap shorter than one second", () => {
    for (const value of ["0.001", "0.5", "1.5"]) {
      expect(problemOf({ ...base, REPLICATE_SYNC_WAIT_SECONDS: value }).detail).toMatch(
        /^REPLICATE_SYNC_WAIT_SECONDS must be 0 \(off\) or a whole number/,
      );
    }
    expect(parseConfig({ ...base, REPLICATE_SYNC_WAIT_SECONDS: "1" }).syncWaitSeconds).toBe(1);
    expect(parseConfig({ ...base, REPLICATE_SYNC_WAIT_SECONDS: "30", REPLICATE_TIMEOUT_SECONDS: "0.5" }).syncWaitSeconds).toBe(0);
    expect(parseConfig({ ...base, REPLICATE_SYNC_WAIT_SECONDS: "30", REPLICATE_TIMEOUT_SECONDS: "1.9" }).syncWaitSeconds).toBe(1);
  });

  it.each([
    ["REPLICATE_API_BASE_URL", "https://api.replicate.com/v1?x=1"],
    ["REPLICATE_API_BASE_URL", "https://api.replicate.com/v1#top"],
    ["REPLICATE_API_BASE_URL", "https://api.replicate.com/v1?"],
    ["REPLICATE_API_BASE_URL", "https://api.replicate.com/v1#"],
    ["REPLICATE_API_BASE_URL", "https://user:secret@api.replicate.com/v1"],
    ["REPLICATE_API_BASE_URL", "https://user@api.replicate.com/v1"],
    ["REPLICATE_WEBHOOK_URL", "https://app.example.com/?ref=1"],
  ])("refuses %s with a query, a fragment or credentials (%s), naming it", (name, value) => {
    const detail = problemOf({ ...base, [name]: value }).detail;
    expect(detail).toContain(name);
    expect(detail).toMatch(/without a \?query, a #fragment or user:password@/);
    expect(detail).not.toContain("secret");
  });

  it("sizes the webhook body limit for one prediction: 4 MiB by default, configurable", () => {
    expect(parseConfig({ ...base, REPLICATE_WEBHOOK_MAX_BODY_BYTES: "8388608" }).webhookMaxBodyBytes).toBe(8 * 1024 * 1024);
    expect(problemOf({ ...base, REPLICATE_WEBHOOK_MAX_BODY_BYTES: "10" }).detail).toContain("REPLICATE_WEBHOOK_MAX_BODY_BYTES");
  });
});

describe("the body guards' configuration", () => {
  it("defaults to a 30 s body time limit, a 512 MiB body budget and 32 webhooks at once", () => {
    expect(parseGuardConfig({})).toMatchObject({
      bodyTimeoutMs: 30_000,
      bodyBudgetBytes: 512 * 1024 * 1024,
      webhookMaxInFlight: 32,
    });
  });

  it.each([
    ["REPLICATE_BODY_TIMEOUT_SECONDS", "0"],
    ["REPLICATE_BODY_TIMEOUT_SECONDS", "301"],
    ["REPLICATE_BODY_BUDGET_BYTES", "1000"],
    ["REPLICATE_WEBHOOK_MAX_IN_FLIGHT", "0"],
  ])("names malformed %s=%s", (name, value) => {
    expect(() => parseGuardConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});

describe("the secrets a log line must never carry", () => {
  it("include the storage secrets and the Redis password, not only the token and the keys", async () => {
    const { secretValues } = await import("@/lib/server/config");
    const secrets = secretValues({
      REPLICATE_API_TOKEN: "r8_token_value",
      OUTPUT_URL_SECRET: "output-url-secret-value",
      AWS_SECRET_ACCESS_KEY: "aws-secret-key-value",
      REDIS_URL: "rediss://default:redis-password-value@cache.example:6379",
    });
    for (const secret of ["r8_token_value", "output-url-secret-value", "aws-secret-key-value", "redis-password-value"]) {
      expect(secrets).toContain(secret);
    }
  });
});
