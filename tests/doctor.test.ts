// npm run doctor against the simulated Replicate (in-process, behind msw), a throwaway Redis and a
// temporary storage folder: every check passing, and each failure provoked, one line each, the
// token never printed, nothing billed without --run.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { runDoctor, type DoctorOptions } from "@/dev/doctor/doctor";
import { freeRedisPort } from "@/dev/redis-server";
import { simulatorHandlers } from "@/dev/simulator/msw";
import { FAST_IMAGE_MODEL, IMAGE_MODEL } from "@/dev/simulator/models";
import { SimulatedReplicate } from "@/dev/simulator/simulated-replicate";
import { hasRedisServer, useRedisServer } from "@/tests/support/redis-server";
import * as seedSchema from "@/tests/support/seed-schema";
import { seedSchemaText } from "@/tests/support/seed-schema-file";

const BASE = "https://api.replicate.test/v1";
const TOKEN = "r8_doctor_test_token_5e2a";
const SEED_TARGET = `simulated/image-model:${IMAGE_MODEL.latest_version.id}`;

const sim = new SimulatedReplicate({ token: TOKEN, bootMs: 5, runMs: 30 });
const server = setupServer(...simulatorHandlers(sim, BASE));
const redis = useRedisServer();
let storageDir: string;

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
beforeEach(async () => {
  storageDir = await mkdtemp(path.join(tmpdir(), "doctor-storage-"));
});
afterEach(async () => {
  sim.reset();
  await rm(storageDir, { recursive: true, force: true });
});
afterAll(() => server.close());

async function doctor(env: Record<string, string> = {}, options: Partial<DoctorOptions> = {}) {
  const lines: string[] = [];
  const code = await runDoctor({
    env: { REPLICATE_API_TOKEN: TOKEN, REPLICATE_API_BASE_URL: BASE, REPLICATE_MODEL_VERSION: SEED_TARGET, ...env },
    schemaText: seedSchemaText(),
    schema: seedSchema,
    print: (line) => lines.push(line),
    ...options,
  });
  const verdict = (check: string) => lines.map((line) => new RegExp(`^(ok|warn|fail) +${check}: `).exec(line)?.[1]).find(Boolean);
  return { code, lines, text: lines.join("\n"), verdict };
}

describe("a working setup", () => {
  it("passes every check, one line each, without a paid call or the token", async () => {
    const env: Record<string, string> = {
      OUTPUT_STORAGE: "fs",
      OUTPUT_STORAGE_DIR: storageDir,
      REPLICATE_WEBHOOK_URL: "https://app.example.com",
    };
    if (hasRedisServer) {
      // Persistence on, as a production Redis would have it (the throwaway one starts without).
      const client = new Redis(redis.url);
      await client.config("SET", "save", "3600 1");
      client.disconnect();
      env.REDIS_URL = redis.url;
    }
    const { code, lines, text } = await doctor(env).finally(async () => {
      // Snapshots off again: the throwaway server would write dump.rdb into its working folder on exit.
      if (!hasRedisServer) return;
      const client = new Redis(redis.url);
      await client.config("SET", "save", "");
      client.disconnect();
    });
    expect(code).toBe(0);
    expect(lines.map((line) => /^\w+ +[^:]+:/.exec(line)?.[0].replace(/ +/, " "))).toEqual([
      "ok config:",
      "ok token:",
      "ok model:",
      "ok schema:",
      "ok webhook secret:",
      "ok webhook url:",
      ...(hasRedisServer ? ["ok redis:", "ok redis persistence:"] : []),
      "ok storage:",
    ]);
    expect(text).toContain("account simulated");
    expect(text).toContain(`schema.ts was generated from simulated/image-model:${IMAGE_MODEL.latest_version.id.slice(0, 12)}`);
    expect(text).not.toContain(TOKEN);
    expect(sim.predictions.size).toBe(0);
  });

  it("checks a deployment and an official model by their own endpoints", async () => {
    const deployment = await doctor({ REPLICATE_MODEL_VERSION: "", REPLICATE_DEPLOYMENT: "simulated/image-deployment" });
    expect(deployment.code).toBe(0);
    expect(deployment.text).toContain("the deployment simulated/image-deployment runs simulated/image-model");
    const official = await doctor({ REPLICATE_MODEL_VERSION: "", REPLICATE_MODEL: "simulated/image-model" });
    expect(official.verdict("model")).toBe("ok");
    expect(official.verdict("schema")).toBe("ok");
  });
});

describe("each failure says what to do", () => {
  it("a configuration that does not parse", async () => {
    const { code, text, verdict } = await doctor({ REPLICATE_POLL_INTERVAL_MS: "soon" });
    expect(code).toBe(1);
    expect(verdict("config")).toBe("fail");
    expect(text).toContain("REPLICATE_POLL_INTERVAL_MS must be a number");
    expect(text).toContain("Fix it in .env.local");
    expect((await doctor({ REPLICATE_MODEL: "simulated/image-model" })).text).toContain("Set exactly one of");
    const budget = await doctor({ REPLICATE_BUDGET_PER_CALLER: "300/day" });
    expect(budget.verdict("config")).toBe("fail");
    expect(budget.text).toContain("REPLICATE_BUDGET_PER_CALLER must look like 300s/day");
    const otel = await doctor({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" });
    expect(otel.verdict("config")).toBe("fail");
    expect(otel.text).toContain("OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL");
  });

  it("a bad token, never printed", async () => {
    const { code, text, verdict } = await doctor({ REPLICATE_API_TOKEN: "r8_wrong_token_0000" });
    expect(code).toBe(1);
    expect(verdict("token")).toBe("fail");
    expect(text).toContain("https://replicate.com/account/api-tokens");
    expect(text).not.toContain("r8_wrong_token_0000");
  });

  it("an unknown model, an unknown version, and a model REPLICATE_MODEL cannot run", async () => {
    const unknown = await doctor({ REPLICATE_MODEL_VERSION: `simulated/no-such-model:${"c".repeat(64)}` });
    expect(unknown.code).toBe(1);
    expect(unknown.verdict("model")).toBe("fail");
    const version = await doctor({ REPLICATE_MODEL_VERSION: `simulated/image-model:${"d".repeat(64)}` });
    expect(version.text).toContain("has no version");
    const deployment = await doctor({ REPLICATE_MODEL_VERSION: "", REPLICATE_DEPLOYMENT: "simulated/gone" });
    expect(deployment.text).toContain("Replicate has no deployment simulated/gone (404)");
    const notOfficial = await doctor({ REPLICATE_MODEL_VERSION: "", REPLICATE_MODEL: "simulated/speech-to-text" });
    expect(notOfficial.code).toBe(1);
    expect(notOfficial.text).toContain("npm run model -- simulated/speech-to-text --write-env");
  });

  it("a drifted schema: a warning naming each changed field and how to refit", async () => {
    const drifted = z.strictObject({
      prompt: z.string(),
      steps: z.number().int().optional(),
      seed: z.string().optional(),
      output_format: z.enum(["webp", "gif"]).optional(),
    });
    const { code, lines, verdict } = await doctor(
      { REPLICATE_MODEL_VERSION: `simulated/fast-image:${FAST_IMAGE_MODEL.latest_version.id}` },
      { schema: { requestBodySchema: drifted, toModelInput: (body) => body } },
    );
    expect(code).toBe(0);
    expect(verdict("schema")).toBe("warn");
    const warning = lines.find((line) => line.includes("schema:")) ?? "";
    expect(warning).toContain("steps is no longer an input");
    expect(warning).toContain("seed was a string, is now an integer");
    expect(warning).toContain('output_format no longer takes "gif"');
    expect(warning).toContain(`re-run npm run model -- simulated/fast-image:${FAST_IMAGE_MODEL.latest_version.id}`);
  });

  it.skipIf(!hasRedisServer)("Redis down", async () => {
    const { code, text, verdict } = await doctor({ REDIS_URL: `redis://127.0.0.1:${await freeRedisPort()}` });
    expect(code).toBe(1);
    expect(verdict("redis")).toBe("fail");
    expect(text).toContain("Start Redis or fix REDIS_URL");
  });

  it.skipIf(!hasRedisServer)("a Redis that keeps nothing over a restart is a warning", async () => {
    const client = new Redis(redis.url);
    await client.config("SET", "appendonly", "no");
    await client.config("SET", "save", "");
    client.disconnect();
    const { code, verdict } = await doctor({ REDIS_URL: redis.url });
    expect(code).toBe(0);
    expect(verdict("redis persistence")).toBe("warn");
  });

  it("unwritable storage", async () => {
    const file = path.join(storageDir, "a-file");
    await writeFile(file, "not a folder");
    const { code, text, verdict } = await doctor({ OUTPUT_STORAGE: "fs", OUTPUT_STORAGE_DIR: path.join(file, "outputs") });
    expect(code).toBe(1);
    expect(verdict("storage")).toBe("fail");
    expect(text).toContain("cannot write to the folder");
  });

  it("a webhook URL Replicate cannot reach", async () => {
    const local = await doctor({ REPLICATE_WEBHOOK_URL: "http://localhost:3000" });
    expect(local.verdict("webhook url")).toBe("fail");
    const privateHost = await doctor({ REPLICATE_WEBHOOK_URL: "https://192.168.1.20" });
    expect(privateHost.text).toContain("which Replicate cannot reach");
  });
});

describe("--run", () => {
  it("says it will bill before it runs one prediction with the schema's example, and prints its predict time", async () => {
    const { code, lines } = await doctor({}, { run: true });
    expect(code).toBe(0);
    const notice = lines.findIndex((line) => line.includes("Replicate bills it"));
    const result = lines.findIndex((line) => line.startsWith("ok    run:"));
    expect(notice).toBeGreaterThan(-1);
    expect(result).toBeGreaterThan(notice);
    expect(lines[result]).toMatch(/succeeded \(\d+\.\d\d s of predict time billed\)/);
    expect(sim.predictions.size).toBe(1);
    const [prediction] = sim.predictions.values();
    expect(prediction.plan.input).toEqual({ prompt: "A lighthouse on a cliff at dusk, volumetric light" });
  });

  it("runs nothing when a check failed", async () => {
    const { code, text } = await doctor({ REPLICATE_API_TOKEN: "r8_wrong_token_0000" }, { run: true });
    expect(code).toBe(1);
    expect(text).toContain("nothing was billed");
    expect(sim.predictions.size).toBe(0);
  });
});
