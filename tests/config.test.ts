import { describe, expect, it } from "vitest";
import { getConfig, parseConfig } from "@/lib/server/config";
import { Problem } from "@/lib/server/problem";

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
    expect(problemOf({ REPLICATE_API_TOKEN: "t" }).detail).toMatch(/REPLICATE_MODEL_VERSION.*REPLICATE_MODEL.*REPLICATE_DEPLOYMENT.*none/);
    const several = problemOf({ ...base, REPLICATE_DEPLOYMENT: "a/b" }).detail;
    expect(several).toContain("REPLICATE_MODEL and REPLICATE_DEPLOYMENT");
  });

  it("counts an empty variable as unset", () => {
    expect(parseConfig({ ...base, REPLICATE_DEPLOYMENT: "", REPLICATE_POLL_INTERVAL_MS: " " }).pollIntervalMs).toBe(1000);
  });

  it("accepts a version id or owner/name:version, sent verbatim", () => {
    expect(parseConfig({ REPLICATE_API_TOKEN: "t", REPLICATE_MODEL_VERSION: VERSION }).target).toEqual({ kind: "version", version: VERSION });
    const pinned = `stability-ai/sdxl:${VERSION}`;
    expect(parseConfig({ REPLICATE_API_TOKEN: "t", REPLICATE_MODEL_VERSION: pinned }).target).toEqual({ kind: "version", version: pinned });
    expect(problemOf({ REPLICATE_API_TOKEN: "t", REPLICATE_MODEL_VERSION: "latest" }).detail).toContain("REPLICATE_MODEL_VERSION");
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
    expect(parseConfig({ ...base, REPLICATE_API_BASE_URL: "http://127.0.0.1:4010/v1/" }).baseUrl).toBe("http://127.0.0.1:4010/v1");
  });

  it("parses once per environment and again when it changes", () => {
    const env = { ...base };
    const first = getConfig(env);
    expect(getConfig({ ...env })).toBe(first);
    expect(getConfig({ ...env, REPLICATE_POLL_INTERVAL_MS: "5" }).pollIntervalMs).toBe(5);
  });
});
