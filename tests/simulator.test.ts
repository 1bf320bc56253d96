import { createHmac, timingSafeEqual } from "node:crypto";
import { Agent } from "node:http";
import axios from "axios";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  DEFAULT_TOKEN,
  DROP,
  renderProgressLogs,
  SIMULATED_FAILURE,
  SimulatedReplicate,
  simulatorHandlers,
  startSimulatorServer,
  type PredictionJson,
  type SimulatedReplicateOptions,
} from "@/dev/simulator";
import { z } from "zod";
import {
  FAST_IMAGE_FIRST_VERSION,
  FAST_IMAGE_MODEL,
  IMAGE_EDIT_MODEL,
  LANGUAGE_MODEL,
  modelVersions,
  SIMULATED_MODELS,
  SPEECH_TO_TEXT_MODEL,
} from "@/dev/simulator/models";
import {
  ReplicateFile,
  ReplicatePrediction,
  ReplicatePredictionPage,
  ReplicateProblem,
  ReplicateWebhookSecret,
} from "@/dev/simulator/spec-objects";

const BASE = "https://api.replicate.com/v1";
const VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa";
const TQDM_LINE = /^\s*(\d+)%\s*\|.+?\|\s*(\d+)\/(\d+)/;
/** An official model (the models endpoint and bare `owner/name` versions accept only those). */
const OFFICIAL = "simulated/image-model";

// GET /models/{owner}/{name} and .../versions/{id} (replicate-openapi.json: schemas_model_response,
// schemas_version_response; the project reads no model objects, so they are written out here).
const ReplicateVersion = z.looseObject({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  created_at: z.iso.datetime({ offset: true }),
  cog_version: z.string().nullable(),
  openapi_schema: z
    .looseObject({ components: z.looseObject({ schemas: z.looseObject({ Input: z.looseObject({}) }) }) })
    .nullable(),
});
const ReplicateModel = z.looseObject({
  url: z.url(),
  owner: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  visibility: z.enum(["public", "private"]),
  is_official: z.boolean(),
  run_count: z.number().int(),
  github_url: z.url().nullable(),
  paper_url: z.url().nullable(),
  license_url: z.url().nullable(),
  cover_image_url: z.url().nullable(),
  default_example: z.looseObject({}).nullable(),
  latest_version: ReplicateVersion.nullable(),
});

/** Every JSON answer of every simulator in this file that did not match Replicate's schemas. */
const schemaFailures: string[] = [];
let answersChecked = 0;
afterAll(() => {
  expect(schemaFailures).toEqual([]);
  expect(answersChecked).toBeGreaterThan(100);
});

/**
 * Checks every answer the simulator gives against lib/shared/replicate-objects.ts: a prediction, a
 * list page, the webhook secret, or (4xx/5xx) a problem. Event streams, files and broken-on-purpose
 * bodies (injected faults) are left alone.
 */
function checkEveryAnswer(sim: SimulatedReplicate): SimulatedReplicate {
  const handle = sim.handle.bind(sim);
  sim.handle = async (request: Request) => {
    const answer = await handle(request);
    if (answer !== DROP && /json/.test(answer.headers.get("content-type") ?? "")) {
      const failure = schemaFailure(answer.status, await answer.clone().text());
      if (failure) schemaFailures.push(`${request.method} ${new URL(request.url).pathname}: ${failure}`);
    }
    return answer;
  };
  return sim;
}

function schemaFailure(status: number, text: string): string | null {
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return null; // a "truncated" fault
  }
  answersChecked += 1;
  const schema =
    status >= 400
      ? ReplicateProblem
      : Array.isArray(body?.results)
        ? ReplicatePredictionPage
        : typeof body?.key === "string"
          ? ReplicateWebhookSecret
          : body && "latest_version" in body
            ? ReplicateModel
            : body && "openapi_schema" in body
              ? ReplicateVersion
              : typeof body?.checksums === "object"
                ? ReplicateFile
                : ReplicatePrediction;
  const result = schema.safeParse(body);
  return result.success ? null : result.error.message.slice(0, 400);
}

interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  token?: string | null;
}

/** One request straight into the simulator core (no HTTP), as the adapters would pass it. */
async function call(sim: SimulatedReplicate, method: string, path: string, options: CallOptions = {}) {
  const { body, headers = {}, token = DEFAULT_TOKEN } = options;
  const answer = await sim.handle(
    new Request(path.startsWith("http") ? path : `${BASE}${path}`, {
      method,
      headers: {
        "content-type": "application/json",
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
  if (answer === DROP) return { status: "drop" as const, json: null, text: "", headers: new Headers() };
  const text = await answer.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: the test looks at `text`
  }
  return { status: answer.status, json, text, headers: answer.headers };
}

function create(sim: SimulatedReplicate, prompt = "a red fox", options: CallOptions = {}) {
  return call(sim, "POST", "/predictions", { body: { version: VERSION, input: { prompt } }, ...options });
}

async function created(sim: SimulatedReplicate, prompt?: string, options?: CallOptions): Promise<PredictionJson> {
  const answer = await create(sim, prompt, options);
  expect(answer.status).toBe(201);
  return answer.json as PredictionJson;
}

async function getPrediction(sim: SimulatedReplicate, id: string): Promise<PredictionJson> {
  const answer = await call(sim, "GET", `/predictions/${id}`);
  expect(answer.status).toBe(200);
  return answer.json as PredictionJson;
}

/** Tracks whether a promise settled, for asserting that a hold is still holding. */
function track<T>(promise: Promise<T>) {
  const state = { settled: false, value: undefined as T | undefined };
  void promise.then((value) => Object.assign(state, { settled: true, value }));
  return state;
}

function lastProgress(logs: string | null | undefined) {
  const line = (logs ?? "")
    .split(/\r?\n|\r/)
    .filter((l) => TQDM_LINE.test(l))
    .at(-1);
  return line ? TQDM_LINE.exec(line)!.slice(1).map(Number) : null;
}

function parseEvents(text: string): { event: string; data: string }[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))!.slice("event: ".length);
      const data = lines
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice("data: ".length))
        .join("\n");
      return { event, data };
    });
}

function verifySignature(secret: string, headers: Record<string, string>, body: string): boolean {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = createHmac("sha256", key).update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`).digest();
  return headers["webhook-signature"].split(" ").some((entry) => {
    const [scheme, signature] = entry.split(",");
    const given = Buffer.from(signature, "base64");
    return scheme === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

describe("the simulator core (fake clock)", () => {
  let sim: SimulatedReplicate;
  const simulator = (options: SimulatedReplicateOptions = {}) =>
    (sim = checkEveryAnswer(new SimulatedReplicate({ bootMs: 300, runMs: 2000, ...options })));

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"], now: new Date("2026-01-01T00:00:00Z") });
    simulator();
  });
  afterEach(() => {
    sim.shutdown();
    vi.useRealTimers();
  });

  describe("creating a prediction", () => {
    it("answers 201 with a starting prediction on each create endpoint", async () => {
      const byVersion = await call(sim, "POST", "/predictions", {
        body: { version: `acme/painter:${VERSION}`, input: { prompt: "x" } },
      });
      const byModel = await call(sim, "POST", `/models/${OFFICIAL}/predictions`, { body: { input: { prompt: "x" } } });
      const byDeployment = await call(sim, "POST", "/deployments/acme/app/predictions", {
        body: { input: { prompt: "x" } },
      });

      for (const answer of [byVersion, byModel, byDeployment]) {
        expect(answer.status).toBe(201);
        expect(answer.json).toMatchObject({ status: "starting", output: null, error: null, source: "api" });
        expect(answer.json.urls.get).toBe(`${BASE}/predictions/${answer.json.id}`);
        expect(answer.json.urls.cancel).toBe(`${BASE}/predictions/${answer.json.id}/cancel`);
        expect(answer.json.metrics).toBeUndefined();
      }
      expect(byVersion.json).toMatchObject({ model: "acme/painter", version: VERSION });
      expect(byModel.json).toMatchObject({ model: OFFICIAL, version: "hidden" });
      expect(byDeployment.json.deployment).toBe("acme/app");
      expect(sim.predictions.size).toBe(3);
      expect(sim.count("create")).toBe(3);
    });

    it("rejects a body key the schema does not allow with a 422", async () => {
      const answer = await call(sim, "POST", `/models/${OFFICIAL}/predictions`, {
        body: { version: VERSION, input: { prompt: "x" } },
      });
      expect(answer.status).toBe(422);
      expect(answer.json.invalid_fields).toEqual([
        {
          type: "additional_property_not_allowed",
          field: "(root)",
          description: "Additional property version is not allowed",
        },
      ]);
      expect(sim.predictions.size).toBe(0);
    });

    it("rejects a malformed version with Replicate's 422", async () => {
      for (const version of ["abc", `${VERSION}0`, "acme/painter:abc", ""]) {
        const answer = await call(sim, "POST", "/predictions", { body: { version, input: { prompt: "x" } } });
        expect(answer.status).toBe(422);
        expect(answer.json.title).toBe("Invalid version or not permitted");
      }
      expect((await call(sim, "POST", "/predictions", { body: { version: OFFICIAL, input: { prompt: "x" } } })).status).toBe(201);
    });

    it("answers a missing prompt with the exact input-validation problem", async () => {
      const answer = await call(sim, "POST", "/predictions", { body: { version: VERSION, input: {} } });
      expect(answer.status).toBe(422);
      expect(answer.json).toEqual({
        title: "Input validation failed",
        detail: "- input: prompt is required\n",
        status: 422,
        invalid_fields: [{ type: "required", field: "input", description: "prompt is required" }],
      });
    });

    it("answers 400 to a body that is not JSON", async () => {
      const answer = await call(sim, "POST", "/predictions", { body: "{nope" });
      expect(answer.status).toBe(400);
      expect(sim.predictions.size).toBe(0);
    });

    it("answers 401 with Replicate's body to a wrong or missing token, and creates nothing", async () => {
      for (const token of ["r8_wrong", null]) {
        const answer = await create(sim, "x", { token });
        expect(answer.status).toBe(401);
        expect(answer.json).toEqual({
          title: "Unauthenticated",
          detail: "You did not pass a valid authentication token",
          status: 401,
        });
      }
      expect(sim.predictions.size).toBe(0);
    });

    it("never records the token itself", async () => {
      await create(sim);
      expect(sim.requests[0].headers.authorization).toBe("Bearer [redacted]");
      expect(JSON.stringify(sim.requests)).not.toContain(DEFAULT_TOKEN);
    });
  });

  describe("a prediction's life", () => {
    it("moves starting -> processing -> succeeded with growing tqdm logs, output and metrics", async () => {
      const { id } = await created(sim, "a red fox");

      vi.advanceTimersByTime(300 + 1000);
      const halfway = await getPrediction(sim, id);
      expect(halfway.status).toBe("processing");
      expect(halfway.started_at).toBe("2026-01-01T00:00:00.300Z");
      expect(halfway.output).toBeNull();
      expect(halfway.logs).toMatch(/^Using seed: \d+\n/);
      expect(lastProgress(halfway.logs)).toEqual([50, 15, 30]);

      vi.advanceTimersByTime(1000);
      const done = await getPrediction(sim, id);
      expect(done.status).toBe("succeeded");
      expect(lastProgress(done.logs)).toEqual([100, 30, 30]);
      expect(done.logs!.length).toBeGreaterThan(halfway.logs!.length);
      expect(done.output).toEqual([`https://api.replicate.com/files/${id}/out-0.svg`]);
      expect(done.completed_at).toBe("2026-01-01T00:00:02.300Z");
      expect(done.metrics).toEqual({ predict_time: 2, total_time: 2.3 });
      expect(sim.get(id)!.finishedAt).toBe(Date.parse(done.completed_at!));
    });

    it("draws a refiner bar after the base bar for [refiner]", async () => {
      const { id } = await created(sim, "castle [refiner]");
      vi.advanceTimersByTime(300 + 2000);
      const { logs } = await getPrediction(sim, id);
      expect(logs).toContain("100%|██████████| 30/30");
      expect(lastProgress(logs)).toEqual([100, 10, 10]);
    });

    it("fails with an error for [fail], runs for [run:N], never ends for [never]", async () => {
      const failing = await created(sim, "boom [fail]");
      const quick = await created(sim, "quick [run:100]");
      const endless = await created(sim, "stuck [never]");
      vi.advanceTimersByTime(300 + 100);
      expect((await getPrediction(sim, quick.id)).status).toBe("succeeded");

      vi.advanceTimersByTime(60_000);
      const failed = await getPrediction(sim, failing.id);
      expect(failed).toMatchObject({ status: "failed", error: SIMULATED_FAILURE, output: null });
      expect(failed.logs).toContain(`RuntimeError: ${SIMULATED_FAILURE}`);
      expect((await getPrediction(sim, endless.id)).status).toBe("processing");
    });

    it("takes its seed from the input and echoes the input", async () => {
      const answer = await call(sim, "POST", "/predictions", {
        body: { version: VERSION, input: { prompt: "x", seed: 16010, style: "noir" } },
      });
      vi.advanceTimersByTime(300);
      const prediction = await getPrediction(sim, answer.json.id);
      expect(prediction.input).toEqual({ prompt: "x", seed: 16010, style: "noir" });
      expect(prediction.logs).toMatch(/^Using seed: 16010\n/);
    });

    it("answers 404 with Replicate's body for an unknown id: problem+json, no title", async () => {
      const answer = await call(sim, "GET", "/predictions/nope");
      expect(answer.status).toBe(404);
      expect(answer.headers.get("content-type")).toBe("application/problem+json");
      expect(answer.json).toEqual({ detail: "The requested resource could not be found", status: 404 });
    });
  });

  describe("Prefer: wait", () => {
    it("holds the create until the prediction is terminal", async () => {
      const answer = track(create(sim, "x", { headers: { prefer: "wait=5" } }));
      await vi.advanceTimersByTimeAsync(2200);
      expect(answer.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(100);
      expect(answer.settled).toBe(true);
      expect(answer.value!.status).toBe(201);
      expect(answer.value!.json).toMatchObject({ status: "succeeded" });
      expect(answer.value!.json.output).toHaveLength(1);
    });

    it("answers with the current state when the window passes first (tidy)", async () => {
      simulator({ staleHeldCreates: false });
      const answer = track(create(sim, "x", { headers: { prefer: "wait=1" } }));
      await vi.advanceTimersByTimeAsync(999);
      expect(answer.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(answer.value!.status).toBe(201);
      expect(answer.value!.headers.get("preference-applied")).toBe("wait=1");
      expect(answer.value!.json.status).toBe("processing");
    });

    it("never holds longer than maxSyncWaitMs", async () => {
      simulator({ maxSyncWaitMs: 500, staleHeldCreates: false });
      const answer = track(create(sim, "x", { headers: { prefer: "wait" } }));
      await vi.advanceTimersByTimeAsync(500);
      expect(answer.value!.json.status).toBe("processing");
    });

    it("answers as soon as a cancel ends the prediction", async () => {
      const answer = track(create(sim, "x [never]", { headers: { prefer: "wait=60" } }));
      await vi.advanceTimersByTimeAsync(1000);
      const { id } = [...sim.predictions.values()][0];
      await call(sim, "POST", `/predictions/${id}/cancel`);
      await vi.advanceTimersByTimeAsync(0);
      expect(answer.value!.json.status).toBe("canceled");
      expect(sim.pendingWaits).toBe(0);
    });

    it("rejects a wait outside 1..60 seconds", async () => {
      for (const prefer of ["wait=0", "wait=61", "wait=abc"]) {
        expect((await create(sim, "x", { headers: { prefer } })).status).toBe(422);
      }
    });
  });

  describe("cancel and Cancel-After", () => {
    it("cancels a running prediction and leaves a terminal one unchanged", async () => {
      const running = await created(sim);
      vi.advanceTimersByTime(1000);
      const canceled = await call(sim, "POST", `/predictions/${running.id}/cancel`);
      expect(canceled.status).toBe(200);
      expect(canceled.json.status).toBe("canceled");
      expect(sim.get(running.id)!.canceledVia).toBe("cancel");
      vi.advanceTimersByTime(5000);
      expect((await getPrediction(sim, running.id)).status).toBe("canceled");

      const finished = await created(sim);
      vi.advanceTimersByTime(2300);
      const again = await call(sim, "POST", `/predictions/${finished.id}/cancel`);
      expect(again.json.status).toBe("succeeded");
      expect((await call(sim, "POST", "/predictions/nope/cancel")).status).toBe(404);
    });

    it("aborts a prediction whose deadline passes while it is starting", async () => {
      simulator({ bootMs: 10_000 });
      const prediction = await created(sim, "x", { headers: { "cancel-after": "5s" } });
      expect(prediction.deadline).toBe("2026-01-01T00:00:05.000Z");
      vi.advanceTimersByTime(5000);
      const ended = await getPrediction(sim, prediction.id);
      expect(ended).toMatchObject({ status: "aborted", started_at: null });
      expect(sim.get(prediction.id)!.canceledVia).toBe("deadline");
    });

    it("cancels a prediction whose deadline passes while it is processing", async () => {
      const prediction = await created(sim, "x [never]", { headers: { "cancel-after": "1m" } });
      vi.advanceTimersByTime(59_999);
      expect((await getPrediction(sim, prediction.id)).status).toBe("processing");
      vi.advanceTimersByTime(1);
      expect((await getPrediction(sim, prediction.id)).status).toBe("canceled");
    });

    it("accepts Go-style durations between 5 s and 24 h and rejects others", async () => {
      const long = await created(sim, "x", { headers: { "cancel-after": "1h30m" } });
      expect(Date.parse(long.deadline!) - Date.parse(long.created_at)).toBe(90 * 60_000);
      const bare = await created(sim, "x", { headers: { "cancel-after": "90" } });
      expect(Date.parse(bare.deadline!) - Date.parse(bare.created_at)).toBe(90_000);
      for (const header of ["4s", "25h", "soon", "5x"]) {
        const answer = await create(sim, "x", { headers: { "cancel-after": header } });
        expect(answer.status).toBe(422);
      }
    });
  });

  describe("rate limits", () => {
    it("throttles creates with a token bucket and a Retry-After (tidy answers)", async () => {
      simulator({ rateLimits: { createPerMinute: 6, otherPerMinute: 60, burst: 1 }, throttleAnswers: "tidy" });
      expect((await create(sim)).status).toBe(201);
      const throttled = await create(sim);
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get("retry-after")).toBe("10");
      expect(throttled.json).toEqual({ detail: "Request was throttled. Your rate limit resets in ~10s.", status: 429 });
      expect(sim.predictions.size).toBe(1);
      expect(sim.throttled).toBe(1);

      vi.advanceTimersByTime(9_000);
      expect((await create(sim)).headers.get("retry-after")).toBe("1");
      vi.advanceTimersByTime(1_000);
      expect((await create(sim)).status).toBe(201);
    });

    it("counts other endpoints in their own bucket", async () => {
      simulator({ rateLimits: { createPerMinute: 600, otherPerMinute: 60, burst: 1 }, throttleAnswers: "tidy" });
      expect((await call(sim, "GET", "/predictions/nope")).status).toBe(404);
      const throttled = await call(sim, "GET", "/predictions/nope");
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get("retry-after")).toBe("1");
      expect((await create(sim)).status).toBe(201);
    });
  });

  describe("injected faults", () => {
    it("creates the prediction before answering a 5xx or dropping the create", async () => {
      sim.failNext("create", "500");
      sim.failNext("create", "drop");
      expect((await create(sim)).status).toBe(500);
      expect((await create(sim)).status).toBe("drop");
      expect(sim.predictions.size).toBe(2);
      expect(sim.requests.map((r) => r.status)).toEqual([500, "drop"]);
    });

    it("never creates on an injected 429, which carries its Retry-After", async () => {
      sim.failNext("create", "429", { retryAfterSeconds: 7 });
      const answer = await create(sim);
      expect(answer.status).toBe(429);
      expect(answer.headers.get("retry-after")).toBe("7");
      expect(sim.predictions.size).toBe(0);
      expect((await create(sim)).status).toBe(201);
    });

    it("applies queued faults in order, each the given number of times, to matching endpoints", async () => {
      sim.failNext("get", "503", { times: 2 });
      sim.failNext("any", "502");
      // The "any" fault is queued behind the get faults, but it is the first that matches a create.
      expect((await create(sim)).status).toBe(502);
      const [{ id }] = sim.predictions.values();
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await call(sim, "GET", `/predictions/${id}`)).status);
      expect(statuses).toEqual([503, 503, 200]);
    });

    it("can answer a 200 HTML page, a truncated JSON body, or answer slowly", async () => {
      const { id } = await created(sim);
      sim.failNext("get", "html200");
      sim.failNext("get", "truncated");
      const html = await call(sim, "GET", `/predictions/${id}`);
      expect(html.status).toBe(200);
      expect(html.headers.get("content-type")).toContain("text/html");
      const truncated = await call(sim, "GET", `/predictions/${id}`);
      expect(truncated.status).toBe(200);
      expect(truncated.json).toBeNull();
      expect(truncated.text.length).toBeGreaterThan(10);

      simulator({ slowMs: 2000 });
      sim.failNext("create", "slow");
      const slow = track(create(sim));
      await vi.advanceTimersByTimeAsync(1999);
      expect(slow.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(slow.value!.status).toBe(201);
    });

    it("draws random faults from a seeded generator, so a run repeats", async () => {
      const statuses = async (seed: number) => {
        simulator({ seed, randomFaults: { rate: 0.3, kinds: ["500", "503", "429"], endpoints: ["get"] } });
        const { id } = await created(sim);
        const seen = [];
        for (let i = 0; i < 60; i++) seen.push((await call(sim, "GET", `/predictions/${id}`)).status);
        return seen;
      };
      const first = await statuses(42);
      expect(await statuses(42)).toEqual(first);
      expect(await statuses(7)).not.toEqual(first);
      const faults = first.filter((s) => s !== 200).length;
      expect(faults).toBeGreaterThan(5);
      expect(faults).toBeLessThan(35);
    });
  });

  describe("listing predictions", () => {
    it("pages newest first, 100 a page, through absolute `next` URLs", async () => {
      simulator({ foreignTraffic: false });
      const ids: string[] = [];
      for (let i = 0; i < 250; i++) {
        ids.push((await created(sim, `p${i}`)).id);
        vi.advanceTimersByTime(10);
      }
      const seen: string[] = [];
      let url: string | null = `${BASE}/predictions`;
      const pageSizes: number[] = [];
      while (url) {
        const page = await call(sim, "GET", url);
        expect(page.status).toBe(200);
        pageSizes.push(page.json.results.length);
        seen.push(...page.json.results.map((p: PredictionJson) => p.id));
        url = page.json.next;
        if (url) expect(url).toMatch(/^https:\/\/api\.replicate\.com\/v1\/predictions\?cursor=/);
      }
      expect(pageSizes).toEqual([100, 100, 50]);
      expect(seen).toEqual([...ids].reverse());
    });

    it("filters with created_after", async () => {
      simulator({ foreignTraffic: false });
      await created(sim, "old");
      vi.advanceTimersByTime(1000);
      const since = new Date().toISOString();
      const recent = await created(sim, "new");
      const page = await call(sim, "GET", `/predictions?created_after=${encodeURIComponent(since)}`);
      expect(page.json.results.map((p: PredictionJson) => p.id)).toEqual([recent.id]);
      expect(page.json.next).toBeNull();
    });
  });

  describe("webhooks", () => {
    it("serves the signing secret and signs each delivery so node:crypto verifies it", async () => {
      const received: { headers: Record<string, string>; body: string }[] = [];
      simulator({
        webhookFetch: async (_url, init) => {
          received.push({ headers: init!.headers as Record<string, string>, body: init!.body as string });
          return new Response(null, { status: 204 });
        },
      });
      const { json: secret } = await call(sim, "GET", "/webhooks/default/secret");
      expect(secret.key).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);

      await call(sim, "POST", "/predictions", {
        body: {
          version: VERSION,
          input: { prompt: "x" },
          webhook: "https://hooks.example/replicate",
          webhook_events_filter: ["start", "completed"],
        },
      });
      await vi.advanceTimersByTimeAsync(2300);

      expect(sim.webhookDeliveries.map((d) => d.event)).toEqual(["start", "completed"]);
      expect(JSON.parse(received[1].body).status).toBe("succeeded");
      for (const { headers, body } of received) {
        expect(headers["webhook-id"]).toMatch(/^msg_/);
        expect(verifySignature(secret.key, headers, body)).toBe(true);
        expect(verifySignature(secret.key, headers, `${body} `)).toBe(false);
        expect(ReplicatePrediction.safeParse(JSON.parse(body)).success).toBe(true);
      }
    });

    it("retries only the completed delivery, with the same webhook-id", async () => {
      let calls = 0;
      simulator({
        webhookRetryDelaysMs: [50, 200],
        webhookFetch: async () => new Response(null, { status: ++calls <= 2 ? 500 : 200 }),
      });
      await call(sim, "POST", "/predictions", {
        body: {
          version: VERSION,
          input: { prompt: "x" },
          webhook: "https://hooks.example/r",
          webhook_events_filter: ["start", "completed"],
        },
      });
      await vi.advanceTimersByTimeAsync(2300 + 250);
      const deliveries = sim.webhookDeliveries;
      const start = deliveries.filter((d) => d.event === "start");
      const completed = deliveries.filter((d) => d.event === "completed");
      expect(start.map((d) => d.status)).toEqual([500]);
      expect(completed.map((d) => d.status)).toEqual([500, 200]);
      expect(completed.map((d) => d.attempt)).toEqual([1, 2]);
      expect(new Set(completed.map((d) => d.webhookId)).size).toBe(1);
    });

    it("sends logs at most every 500 ms while they change", async () => {
      simulator({ webhookFetch: async () => new Response(null, { status: 200 }) });
      await call(sim, "POST", "/predictions", {
        body: { version: VERSION, input: { prompt: "x" }, webhook: "https://h.example/", webhook_events_filter: ["logs"] },
      });
      await vi.advanceTimersByTimeAsync(2300);
      const times = sim.webhookDeliveries.map((d) => d.at);
      expect(times.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(500);
      expect(new Set(sim.webhookDeliveries.map((d) => d.event))).toEqual(new Set(["logs"]));
    });
  });

  describe("output files", () => {
    it("serves a generated SVG of the escaped prompt, seed, style and input image once succeeded", async () => {
      const image = "data:image/png;base64,iVBORw0KGgo=";
      const answer = await call(sim, "POST", "/predictions", {
        body: { version: VERSION, input: { prompt: `<script>alert("x")</script> & fox`, seed: 42, style: "noir", image } },
      });
      const url = `https://api.replicate.com/files/${answer.json.id}/out-0.svg`;
      expect((await call(sim, "GET", url, { token: null })).status).toBe(404);

      vi.advanceTimersByTime(2300);
      const file = await call(sim, "GET", url, { token: null });
      expect(file.status).toBe(200);
      expect(file.headers.get("content-type")).toBe("image/svg+xml");
      expect(file.text).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(file.text).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;");
      expect(file.text).not.toContain("<script");
      expect(file.text).toContain("seed 42 · style noir");
      expect(file.text).toContain(`href="${image}"`);
    });

    it("serves a PNG when the input asks for png", async () => {
      const answer = await call(sim, "POST", "/predictions", {
        body: { version: VERSION, input: { prompt: "x", output_format: "png" } },
      });
      vi.advanceTimersByTime(2300);
      const [url] = (await getPrediction(sim, answer.json.id)).output as string[];
      expect(url).toMatch(/\/out-0\.png$/);
      const response = (await sim.handle(new Request(url))) as Response;
      expect(response.headers.get("content-type")).toBe("image/png");
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect([...bytes.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    });
  });

  describe("the model catalogue: several models, each with its own schema and output", () => {
    const WAV = "data:audio/wav;base64,UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";
    const PNG =
      "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
    const byVersion = (
      model: { owner: string; name: string; latest_version: { id: string } },
      input: object,
      options: CallOptions = {},
    ) =>
      call(sim, "POST", "/predictions", {
        body: { version: `${model.owner}/${model.name}:${model.latest_version.id}`, input },
        ...options,
      });
    const byModel = (model: { owner: string; name: string }, input: object, options: CallOptions = {}) =>
      call(sim, "POST", `/models/${model.owner}/${model.name}/predictions`, { body: { input }, ...options });
    const file = async (url: string) => {
      const response = (await sim.handle(new Request(url))) as Response;
      return {
        status: response.status,
        type: response.headers.get("content-type"),
        bytes: new Uint8Array(await response.arrayBuffer()),
      };
    };
    const done = async (id: string) => {
      await vi.advanceTimersByTimeAsync(2300);
      return getPrediction(sim, id);
    };

    it("answers GET /models/{owner}/{name} and /versions/{id} from the catalogue, and 404 for the rest", async () => {
      for (const model of SIMULATED_MODELS) {
        const answer = await call(sim, "GET", `/models/${model.owner}/${model.name}`);
        expect(answer.status).toBe(200);
        expect(answer.json).toEqual(JSON.parse(JSON.stringify(model)));
        for (const version of modelVersions(model)) {
          const read = await call(sim, "GET", `/models/${model.owner}/${model.name}/versions/${version.id}`);
          expect(read.status).toBe(200);
          expect(read.json.openapi_schema.components.schemas.Input).toEqual(
            (version.openapi_schema.components as { schemas: { Input: unknown } }).schemas.Input,
          );
        }
      }
      expect((await call(sim, "GET", "/models/simulated/nope")).json).toEqual({ detail: "Not found.", status: 404 });
      expect((await call(sim, "GET", `/models/simulated/fast-image/versions/${"c".repeat(64)}`)).status).toBe(404);
      expect((await call(sim, "GET", "/models/simulated/fast-image", { token: null })).status).toBe(401);
      expect(sim.count("model")).toBe(SIMULATED_MODELS.length + 6 + 3);
    });

    it("runs official models by name and the others by version; a version the model lacks is refused", async () => {
      expect((await byModel(FAST_IMAGE_MODEL, { prompt: "x" })).json).toMatchObject({ model: "simulated/fast-image" });
      expect((await byModel(LANGUAGE_MODEL, { prompt: "x" })).status).toBe(201);
      expect((await byModel(SPEECH_TO_TEXT_MODEL, { audio: WAV })).json).toEqual({ detail: "Not found.", status: 404 });
      expect((await byVersion(SPEECH_TO_TEXT_MODEL, { audio: WAV })).json).toMatchObject({
        model: "simulated/speech-to-text",
        version: SPEECH_TO_TEXT_MODEL.latest_version.id,
      });
      const bareId = await call(sim, "POST", "/predictions", {
        body: { version: IMAGE_EDIT_MODEL.latest_version.id, input: { prompt: "x", image: PNG } },
      });
      expect(bareId.json).toMatchObject({ model: "simulated/image-edit", version: IMAGE_EDIT_MODEL.latest_version.id });
      const older = await call(sim, "POST", "/predictions", {
        body: { version: `simulated/fast-image:${FAST_IMAGE_FIRST_VERSION.id}`, input: { prompt: "x" } },
      });
      expect(older.json).toMatchObject({ version: FAST_IMAGE_FIRST_VERSION.id });
      const unknown = await call(sim, "POST", "/predictions", {
        body: { version: `simulated/fast-image:${"c".repeat(64)}`, input: { prompt: "x" } },
      });
      expect(unknown.status).toBe(422);
      expect(unknown.json.title).toBe("Invalid version or not permitted");
    });

    it("checks the input against the model's own Input schema, in Replicate's words", async () => {
      const fields = async (answer: Promise<{ status: number | "drop"; json: any }>) => {
        const { status, json } = await answer;
        expect(status).toBe(422);
        return json.invalid_fields;
      };
      expect(await fields(byVersion(SPEECH_TO_TEXT_MODEL, { language: "en" }))).toEqual([
        { type: "required", field: "input", description: "audio is required" },
      ]);
      expect(await fields(byModel(FAST_IMAGE_MODEL, { prompt: "x", num_outputs: 5, aspect_ratio: "2:1" }))).toEqual([
        {
          type: "enum",
          field: "input.aspect_ratio",
          description: expect.stringMatching(/^input\.aspect_ratio must be one of the following: "1:1", "16:9"/),
        },
        { type: "number_lte", field: "input.num_outputs", description: "Must be less than or equal to 4" },
      ]);
      expect(await fields(byVersion(IMAGE_EDIT_MODEL, { prompt: "x", image: "not a file", strength: "x" }))).toEqual([
        { type: "format", field: "input.image", description: "Does not match format 'uri'" },
        { type: "invalid_type", field: "input.strength", description: "Invalid type. Expected: number, given: string" },
      ]);
      // Keys the schema does not name are let through, as Cog ignores them.
      expect((await byModel(FAST_IMAGE_MODEL, { prompt: "x", extra: 1 })).status).toBe(201);
      expect(sim.predictions.size).toBe(1);
    });

    it("the fast text-to-image model makes num_outputs images in output_format (webp by default)", async () => {
      const jpg = await done((await byModel(FAST_IMAGE_MODEL, { prompt: "x", num_outputs: 3, output_format: "jpg" })).json.id);
      const urls = jpg.output as string[];
      expect(urls.map((url) => url.split("/").pop())).toEqual(["out-0.jpg", "out-1.jpg", "out-2.jpg"]);
      for (const url of urls) {
        const served = await file(url);
        expect(served.type).toBe("image/jpeg");
        expect([...served.bytes.slice(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
      }
      expect((await file(urls[0].replace("out-0.jpg", "out-3.jpg"))).status).toBe(404);
      expect((await file(urls[0].replace("out-0.jpg", "out-0.png"))).status).toBe(404);

      const webp = await done((await byModel(FAST_IMAGE_MODEL, { prompt: "x" })).json.id);
      expect(webp.output).toEqual([expect.stringMatching(/\/out-0\.webp$/)]);
      const served = await file((webp.output as string[])[0]);
      expect(served.type).toBe("image/webp");
      expect(Buffer.from(served.bytes.slice(8, 12)).toString("latin1")).toBe("WEBP");

      // A held create answers the files as HTTPS URLs (production today); data URLs of their format with syncDataUrls.
      const held = track(
        byModel(FAST_IMAGE_MODEL, { prompt: "x", num_outputs: 2, output_format: "png" }, { headers: { prefer: "wait=5" } }),
      );
      await vi.advanceTimersByTimeAsync(2300);
      expect(held.value!.json.output).toEqual([
        expect.stringMatching(/^https:.*\/out-0\.png$/),
        expect.stringMatching(/^https:.*\/out-1\.png$/),
      ]);
      simulator({ syncDataUrls: true });
      const inline = track(
        byModel(FAST_IMAGE_MODEL, { prompt: "x", num_outputs: 2, output_format: "png" }, { headers: { prefer: "wait=5" } }),
      );
      await vi.advanceTimersByTimeAsync(2300);
      expect(inline.value!.json.output).toEqual([
        expect.stringMatching(/^data:image\/png;base64,/),
        expect.stringMatching(/^data:image\/png;base64,/),
      ]);
    });

    it("the image-to-image model makes one image (not an array) from its input image", async () => {
      const edited = await done((await byVersion(IMAGE_EDIT_MODEL, { prompt: "a fox", image: PNG })).json.id);
      expect(edited.output).toEqual(expect.stringMatching(/\/out-0\.svg$/));
      const served = await file(edited.output as string);
      expect(served.type).toBe("image/svg+xml");
      expect(Buffer.from(served.bytes).toString()).toContain(`href="${PNG}"`);
      const stream = (await sim.handle(new Request(edited.urls.stream!))) as Response;
      expect(parseEvents(await stream.text()).filter((event) => event.event === "output")).toHaveLength(1);
    });

    it("the language model streams its tokens on urls.stream, at most max_tokens of them", async () => {
      const created = (await byModel(LANGUAGE_MODEL, { prompt: "tell me a story", max_tokens: 4 })).json as PredictionJson;
      expect(created.urls.stream).toBe(`https://api.replicate.com/stream/${created.id}`);
      const final = await done(created.id);
      expect(final.output).toEqual(["Simulated", " reply", " to:", " tell"]);
      const stream = (await sim.handle(
        new Request(created.urls.stream!, { headers: { accept: "text/event-stream" } }),
      )) as Response;
      const events = parseEvents(await stream.text());
      expect(events.filter((event) => event.event === "output").map((event) => event.data)).toEqual(final.output);
      expect(events.at(-1)).toEqual({ event: "done", data: "{}" });
    });

    it("the speech-to-text model answers a transcript of its audio at the end, without a stream", async () => {
      const created = (await byVersion(SPEECH_TO_TEXT_MODEL, { audio: WAV, language: "de", translate: true }))
        .json as PredictionJson;
      expect(created.urls.stream).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1000);
      expect((await getPrediction(sim, created.id)).output).toBeNull();
      const final = await done(created.id);
      expect(final.output).toBe(
        "Simulated transcript of 44 bytes of audio/wav (de, translated from de to en): the quick brown fox jumps over the lazy dog.",
      );
      expect(final.logs).toBe("Transcribing audio\nDone\n");
    });
  });

  describe("as untidy as production, by default", () => {
    const list = async (query = "") => (await call(sim, "GET", `/predictions${query}`)).json;

    it("lists entries without logs, and cancel answers carry logs: null", async () => {
      const { id } = await created(sim);
      vi.advanceTimersByTime(1000);
      const [entry] = (await list()).results.filter((p: PredictionJson) => p.id === id);
      expect(entry.status).toBe("processing");
      expect("logs" in entry).toBe(false);
      expect((await getPrediction(sim, id)).logs).toMatch(/^Using seed/);
      expect((await call(sim, "POST", `/predictions/${id}/cancel`)).json).toMatchObject({ status: "canceled", logs: null });

      simulator({ listOmitsLogs: false, cancelLogsNull: false });
      const tidy = await created(sim);
      vi.advanceTimersByTime(1000);
      expect((await list()).results[0].logs).toMatch(/^Using seed/);
      expect((await call(sim, "POST", `/predictions/${tidy.id}/cancel`)).json.logs).toMatch(/^Using seed/);
    });

    it("lists the account's other predictions interleaved, nine for each of this app's by default", async () => {
      const own: string[] = [];
      for (let i = 0; i < 3; i++) own.push((await created(sim, `mine ${i}`)).id);
      const { results } = await list();
      expect(results).toHaveLength(30);
      expect(results.map((p: PredictionJson, i: number) => (own.includes(p.id) ? i : -1)).filter((i: number) => i >= 0)).toEqual([
        0, 10, 20,
      ]);
      const foreign = results.filter((p: PredictionJson) => !own.includes(p.id));
      expect(new Set(foreign.map((p: PredictionJson) => p.source))).toEqual(new Set(["web", "api"]));
      expect(foreign.every((p: PredictionJson) => p.model !== "simulated/model")).toBe(true);
      expect(sim.predictions.size).toBe(3);
      // Same account: a foreign prediction can be read (and canceled) by id.
      expect((await getPrediction(sim, foreign[0].id)).id).toBe(foreign[0].id);
      const web = (await list("?source=web")).results;
      expect(web.length).toBe(foreign.filter((p: PredictionJson) => p.source === "web").length);

      simulator({ foreignTraffic: { perOwn: 0.5 } });
      for (let i = 0; i < 4; i++) await created(sim);
      expect((await list()).results).toHaveLength(6);
      simulator({ foreignTraffic: false });
      await created(sim);
      expect((await list()).results).toHaveLength(1);
    });

    it("gives image predictions a file stream whose output events carry a file URL or a data URL", async () => {
      const stream = async (seed: number) => {
        const answer = await call(sim, "POST", "/predictions", { body: { version: VERSION, input: { prompt: "x", seed } } });
        const { id, urls } = answer.json as PredictionJson;
        expect(urls.stream).toBe(`https://api.replicate.com/v1/files/${id}/stream`);
        const response = (await sim.handle(new Request(urls.stream!, { headers: { accept: "text/event-stream" } }))) as Response;
        expect(response.headers.get("content-type")).toBe("text/event-stream");
        const text = response.text();
        await vi.advanceTimersByTimeAsync(2300);
        return { id, text: await text };
      };
      const even = await stream(42);
      const events = parseEvents(even.text);
      expect(events).toEqual([
        { event: "output", data: `https://api.replicate.com/files/${even.id}/out-0.svg` },
        { event: "done", data: "{}" },
      ]);
      expect(even.text).toMatch(/^event: output\nid: \d{10}:0\n/);
      const [odd] = parseEvents((await stream(43)).text);
      expect(odd.data).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);

      simulator({ imageStreams: false });
      expect((await created(sim)).urls.stream).toBeUndefined();
    });

    it("answers a held create past its window `starting` though the model runs, or `processing` with its files complete", async () => {
      const early = track(create(sim, "x", { headers: { prefer: "wait=1" } }));
      await vi.advanceTimersByTimeAsync(1000);
      expect(early.value!.json).toMatchObject({ status: "starting", started_at: null, output: null });
      expect(sim.get(early.value!.json.id)!.status()).toBe("processing");

      const late = track(create(sim, "x", { headers: { prefer: "wait=2" } }));
      await vi.advanceTimersByTimeAsync(2000);
      expect(late.value!.json.status).toBe("processing");
      const [file] = late.value!.json.output as string[];
      expect(file).toMatch(/^https:.*\/out-0\.svg$/);
      // Complete: the file is there while the prediction is still processing.
      expect((await call(sim, "GET", file, { token: null })).status).toBe(200);
    });

    it("answers a text model's held create past its window `processing` with its output so far", async () => {
      const held = track(create(sim, "[text] tell me a story", { headers: { prefer: "wait=2" } }));
      await vi.advanceTimersByTimeAsync(2000);
      const json = held.value!.json;
      expect(json.status).toBe("processing");
      expect((json.output as string[]).length).toBeGreaterThan(0);
      expect(json.output).toEqual(sim.get(json.id)!.tokensAt());
    });

    it("ends a run past Replicate's 30-minute limit as Replicate does: failed, timed out", async () => {
      const { id } = await created(sim, "[never] a run that never ends");
      const prediction = sim.get(id)!;
      vi.advanceTimersByTime(prediction.startsAt - Date.now() + 30 * 60_000 - 1);
      expect((await getPrediction(sim, id)).status).toBe("processing");
      vi.advanceTimersByTime(1);
      expect(await getPrediction(sim, id)).toMatchObject({ status: "failed", error: "Prediction timed out" });
    });

    it("answers an image model's held create that ends in time with HTTPS URLs, or data URLs of the configured size", async () => {
      const https = track(create(sim, "x", { headers: { prefer: "wait=5" } }));
      await vi.advanceTimersByTimeAsync(2300);
      expect((https.value!.json.output as string[])[0]).toMatch(/^https:/);

      simulator({ syncDataUrls: true, dataUrlBytes: 50_000 });
      const answer = track(create(sim, "x", { headers: { prefer: "wait=5" } }));
      await vi.advanceTimersByTimeAsync(2300);
      expect(answer.value!.json.status).toBe("succeeded");
      const [file] = answer.value!.json.output as string[];
      const png = Buffer.from(file.slice("data:image/png;base64,".length), "base64");
      expect(Math.abs(png.length - 50_000)).toBeLessThan(3);
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      expect(png.subarray(-8, -4).toString("latin1")).toBe("IEND");
      // Polled afterwards, the prediction has its file URL.
      expect((await getPrediction(sim, answer.value!.json.id)).output).toEqual([
        `https://api.replicate.com/files/${answer.value!.json.id}/out-0.svg`,
      ]);
    });

    it("removes an API prediction's input, output, logs and files after the retention period", async () => {
      simulator({ retentionMs: 10_000 });
      const { id } = await created(sim);
      vi.advanceTimersByTime(2300);
      const file = `https://api.replicate.com/files/${id}/out-0.svg`;
      expect((await call(sim, "GET", file, { token: null })).status).toBe(200);
      vi.advanceTimersByTime(9_999);
      expect((await getPrediction(sim, id)).data_removed).toBe(false);
      vi.advanceTimersByTime(1);
      expect(await getPrediction(sim, id)).toMatchObject({
        status: "succeeded",
        data_removed: true,
        input: null,
        output: null,
        logs: null,
      });
      expect((await call(sim, "GET", file, { token: null })).status).toBe(404);
      // Web predictions are kept.
      const web = (await list()).results.filter((p: PredictionJson) => p.source === "web");
      expect(web.length).toBeGreaterThan(0);
      expect(web.every((p: PredictionJson) => p.data_removed === false && p.input !== null)).toBe(true);
    });

    it("keeps data for an hour by default, forever with retentionMs: false", async () => {
      const { id } = await created(sim);
      vi.advanceTimersByTime(2300 + 3_599_999);
      expect((await getPrediction(sim, id)).data_removed).toBe(false);
      vi.advanceTimersByTime(1);
      expect((await getPrediction(sim, id)).data_removed).toBe(true);

      simulator({ retentionMs: false });
      const kept = await created(sim);
      vi.advanceTimersByTime(48 * 3_600_000);
      expect((await getPrediction(sim, kept.id)).output).toHaveLength(1);
    });

    it("words its 429s both ways, with and without Retry-After, in turn", async () => {
      simulator({ rateLimits: { createPerMinute: 6, otherPerMinute: 60, burst: 1 } });
      await created(sim);
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await create(sim));
      expect(answers.map((a) => [a.json.detail, a.headers.get("retry-after")])).toEqual([
        ["Request was throttled. Your rate limit resets in ~10s.", "10"],
        ["Request was throttled. Expected available in 10 seconds.", null],
        ["Request was throttled. Your rate limit resets in ~10s.", null],
        ["Request was throttled. Expected available in 10 seconds.", "10"],
      ]);
      expect(answers[0].headers.get("content-type")).toBe("application/problem+json");

      sim.failNext("get", "429", { wording: "expected-available", retryAfterSeconds: null });
      const injected = await call(sim, "GET", "/predictions/nope");
      expect(injected.json.detail).toBe("Request was throttled. Expected available in 1 second.");
      expect(injected.headers.get("retry-after")).toBeNull();
    });

    it("has a low-credit mode: 6 creates a minute, burst 1", async () => {
      simulator({ lowCredit: true });
      expect((await create(sim)).status).toBe(201);
      expect((await create(sim)).status).toBe(429);
      vi.advanceTimersByTime(10_000);
      expect((await create(sim)).status).toBe(201);
      expect((await create(sim)).status).toBe(429);
    });

    it("runs models by name only if they are official", async () => {
      const byModel = await call(sim, "POST", "/models/acme/painter/predictions", { body: { input: { prompt: "x" } } });
      expect(byModel.status).toBe(404);
      expect(byModel.headers.get("content-type")).toBe("application/problem+json");
      expect(byModel.json).toEqual({ detail: "Not found.", status: 404 });
      const byName = await call(sim, "POST", "/predictions", { body: { version: "acme/painter", input: { prompt: "x" } } });
      expect(byName.status).toBe(422);
      expect(byName.json.detail).toBe("The specified version does not exist (or perhaps you don't have permission to use it?)");
      expect(
        (await call(sim, "POST", "/predictions", { body: { version: `acme/painter:${VERSION}`, input: { prompt: "x" } } }))
          .status,
      ).toBe(201);
      expect(sim.predictions.size).toBe(1);

      simulator({ unofficialModelStatus: 422 });
      expect((await call(sim, "POST", "/models/acme/painter/predictions", { body: { input: { prompt: "x" } } })).json.title).toBe(
        "Invalid version or not permitted",
      );
      simulator({ officialModels: ["acme/painter"] });
      expect((await call(sim, "POST", "/models/acme/painter/predictions", { body: { input: { prompt: "x" } } })).status).toBe(
        201,
      );
      expect((await call(sim, "POST", `/models/${OFFICIAL}/predictions`, { body: { input: { prompt: "x" } } })).status).toBe(404);
    });

    it("serves every error as application/problem+json; the tidy style as JSON with a 404 title", async () => {
      const unauthenticated = await create(sim, "x", { token: null });
      const invalid = await call(sim, "POST", "/predictions", { body: { version: VERSION, input: {} } });
      for (const answer of [unauthenticated, invalid]) {
        expect(answer.headers.get("content-type")).toBe("application/problem+json");
        expect(answer.json.title).toBeTypeOf("string");
      }
      simulator({ problemStyle: "tidy" });
      const notFound = await call(sim, "GET", "/predictions/nope");
      expect(notFound.headers.get("content-type")).toBe("application/json");
      expect(notFound.json.title).toBe("Not found");
    });

    it("makes ids like today's real ones: 26 characters of lowercase Crockford base32, digits included", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push((await created(sim)).id);
      for (const id of ids) expect(id).toMatch(/^[0-9a-hjkmnp-tv-z]{26}$/);
      expect(ids.filter((id) => /[0189]/.test(id)).length).toBeGreaterThan(30);
    });

    it("retries only the completed webhook, on Replicate's schedule scaled down (1/100 by default)", async () => {
      const posted: { event: string; at: number }[] = [];
      const webhookFetch = async (_url: unknown, init?: RequestInit) => {
        posted.push({ event: JSON.parse(init!.body as string).status, at: Date.now() });
        return new Response(null, { status: 503 });
      };
      simulator({ webhookFetch });
      await call(sim, "POST", "/predictions", {
        body: {
          version: VERSION,
          input: { prompt: "x" },
          webhook: "https://h.example/",
          webhook_events_filter: ["start", "completed"],
        },
      });
      await vi.advanceTimersByTimeAsync(2300 + 1000);
      const completedAt = Date.parse("2026-01-01T00:00:02.300Z");
      const start = sim.webhookDeliveries.filter((d) => d.event === "start");
      const completed = sim.webhookDeliveries.filter((d) => d.event === "completed");
      expect(start).toHaveLength(1);
      expect(completed.map((d) => d.at - completedAt)).toEqual([0, 10, 30, 70, 150, 310, 610]);

      simulator({ webhookFetch, webhookRetryScale: 1 });
      await call(sim, "POST", "/predictions", {
        body: { version: VERSION, input: { prompt: "x" }, webhook: "https://h.example/", webhook_events_filter: ["completed"] },
      });
      await vi.advanceTimersByTimeAsync(2300 + 61_000);
      const real = sim.webhookDeliveries.map((d) => d.at - (Date.now() - 61_000));
      expect(real).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000, 61_000]);
      expect(posted.length).toBeGreaterThan(0);
    });
  });
});

describe("the Files API (fake clock)", () => {
  let sim: SimulatedReplicate;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"], now: new Date("2026-01-01T00:00:00Z") });
    sim = checkEveryAnswer(new SimulatedReplicate({ bootMs: 10, runMs: 20, fileExpiryMs: 60_000 }));
  });
  afterEach(() => {
    sim.shutdown();
    vi.useRealTimers();
  });

  async function upload(content: Uint8Array, fields: Record<string, string> = {}, token: string = DEFAULT_TOKEN) {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("content", new Blob([content as Uint8Array<ArrayBuffer>], { type: "image/png" }), "in.png");
    const answer = await sim.handle(
      new Request(`${BASE}/files`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form }),
    );
    if (answer === DROP) throw new Error("dropped");
    return { status: answer.status, json: (await answer.json().catch(() => null)) as any };
  }

  it("uploads multipart and answers 201 with the file object; GET answers it, /download its bytes", async () => {
    const bytes = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
    const answer = await upload(bytes, { filename: "cat.png", type: "image/png", metadata: '{"by":"test"}' });
    expect(answer.status).toBe(201);
    expect(answer.json).toMatchObject({ name: "cat.png", content_type: "image/png", size: 7, metadata: { by: "test" } });
    expect(answer.json.urls.get).toBe(`${BASE}/files/${answer.json.id}`);
    expect(answer.json.expires_at).toBe("2026-01-01T00:01:00.000Z");
    expect((await call(sim, "GET", `/files/${answer.json.id}`)).json).toEqual(answer.json);
    const download = await sim.handle(
      new Request(`${answer.json.urls.get}/download`, { headers: { authorization: `Bearer ${DEFAULT_TOKEN}` } }),
    );
    expect(new Uint8Array(await (download as Response).arrayBuffer())).toEqual(bytes);
  });

  it("needs the token, refuses a body without `content` (400) and one over the size limit (413)", async () => {
    expect((await upload(new Uint8Array([1]), {}, "r8_wrong")).status).toBe(401);
    const empty = await call(sim, "POST", "/files", {
      body: "--b--\r\n",
      headers: { "content-type": "multipart/form-data; boundary=b" },
    });
    expect(empty.status).toBe(400);
    sim.files.maxBytes = 4;
    expect((await upload(new Uint8Array(5))).status).toBe(413);
  });

  it("deletes (204, then 404) and expires files; a create naming such a file is refused with 422", async () => {
    const kept = (await upload(new Uint8Array([1]))).json;
    const gone = (await upload(new Uint8Array([2]))).json;
    expect((await call(sim, "DELETE", `/files/${gone.id}`)).status).toBe(204);
    expect((await call(sim, "DELETE", `/files/${gone.id}`)).status).toBe(404);
    expect((await call(sim, "GET", `/files/${gone.id}`)).status).toBe(404);
    const withFile = (url: string) =>
      call(sim, "POST", "/predictions", { body: { version: VERSION, input: { prompt: "x", image: url } } });
    expect((await withFile(gone.urls.get)).status).toBe(422);
    expect((await withFile(kept.urls.get)).status).toBe(201);
    vi.setSystemTime(Date.now() + 60_001);
    expect((await call(sim, "GET", `/files/${kept.id}`)).status).toBe(404);
    expect((await withFile(kept.urls.get)).status).toBe(422);
  });

  it("keeps each account's files its own: another account's file is neither readable nor an input", async () => {
    const foreign = sim.files.add({ account: "someone-else", content: new Uint8Array([1]) });
    expect((await call(sim, "GET", `/files/${foreign.id}`)).status).toBe(404);
    expect((await call(sim, "DELETE", `/files/${foreign.id}`)).status).toBe(404);
    const refused = await call(sim, "POST", "/predictions", {
      body: { version: VERSION, input: { prompt: "x", image: `${BASE}/files/${foreign.id}` } },
    });
    expect(refused.status).toBe(422);
  });
});

describe("tqdm progress logs", () => {
  it("print one line a step and the next pass's empty bar as soon as a pass ends", () => {
    const logs = (stepsDone: number) => renderProgressLogs({ seed: 16010, passes: [30, 10], stepMs: 100, stepsDone });
    expect(logs(0)).toBe("Using seed: 16010\n  0%|          | 0/30 [00:00<?, ?it/s]\n");
    expect(logs(12).split("\n").at(-2)).toBe(" 40%|████      | 12/30 [00:01<00:01, 10.00it/s]");
    expect(logs(30).split("\n").slice(-3, -1)).toEqual([
      "100%|██████████| 30/30 [00:03<00:00, 10.00it/s]",
      "  0%|          | 0/10 [00:00<?, ?it/s]",
    ]);
    expect(logs(40).endsWith("100%|██████████| 10/10 [00:01<00:00, 10.00it/s]\n")).toBe(true);
    expect(logs(40).startsWith(logs(31))).toBe(true);
  });
});

describe("text models and their stream (real clock)", () => {
  const sim = checkEveryAnswer(new SimulatedReplicate({ bootMs: 5, runMs: 40 }));
  afterAll(() => sim.shutdown());

  it("grows an array of tokens and streams each token, then done", async () => {
    const prediction = await created(sim, "tell me a story [text]");
    expect(prediction.urls.stream).toBe(`https://api.replicate.com/stream/${prediction.id}`);
    const stream = (await sim.handle(
      new Request(prediction.urls.stream!, { headers: { accept: "text/event-stream" } }),
    )) as Response;
    expect(stream.headers.get("content-type")).toBe("text/event-stream");
    const events = parseEvents(await stream.text());

    const final = await getPrediction(sim, prediction.id);
    expect(final.status).toBe("succeeded");
    expect(Array.isArray(final.output) && final.output.length).toBeGreaterThan(3);
    expect(events.filter((e) => e.event === "output").map((e) => e.data)).toEqual(final.output);
    expect(events.at(-1)).toEqual({ event: "done", data: "{}" });
  });

  it("ends the stream with reason canceled when the prediction is canceled", async () => {
    const prediction = await created(sim, "go on forever [text] [never]");
    const stream = (await sim.handle(new Request(prediction.urls.stream!))) as Response;
    const text = stream.text();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await call(sim, "POST", `/predictions/${prediction.id}/cancel`);
    const events = parseEvents(await text);
    expect(events.at(-1)).toEqual({ event: "done", data: JSON.stringify({ reason: "canceled" }) });
  });
});

describe("the msw adapter", () => {
  const sim = checkEveryAnswer(new SimulatedReplicate({ bootMs: 5, runMs: 20 }));
  const server = setupServer(...simulatorHandlers(sim));
  beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
  afterAll(() => {
    server.close();
    sim.shutdown();
  });

  it("answers fetch calls to api.replicate.com and serves the output file", async () => {
    const response = await fetch(`${BASE}/models/${OFFICIAL}/predictions`, {
      method: "POST",
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, "content-type": "application/json", prefer: "wait=5" },
      body: JSON.stringify({ input: { prompt: "fox" } }),
    });
    expect(response.status).toBe(201);
    const held = (await response.json()) as PredictionJson;
    expect(held.status).toBe("succeeded");
    expect((held.output as string[])[0]).toMatch(/^https:\/\/api\.replicate\.com\/files\//);
    const prediction = (await (
      await fetch(held.urls.get, { headers: { authorization: `Bearer ${DEFAULT_TOKEN}` } })
    ).json()) as PredictionJson;
    const file = await fetch((prediction.output as string[])[0]);
    expect(file.headers.get("content-type")).toBe("image/svg+xml");
    expect(await file.text()).toContain("fox");
  });

  it("serves streams on their own host, as production does (stream.replicate.com)", async () => {
    const response = await fetch(`${BASE}/predictions`, {
      method: "POST",
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ version: VERSION, input: { prompt: "hi [text]" } }),
    });
    const { id, urls } = (await response.json()) as PredictionJson;
    expect(urls.stream).toBe(`https://stream.replicate.com/stream/${id}`);
    const events = parseEvents(await (await fetch(urls.stream!, { headers: { accept: "text/event-stream" } })).text());
    expect(events.at(-1)!.event).toBe("done");
    expect(sim.requests.find((r) => r.kind === "stream")!.headers.authorization).toBeUndefined();
  });

  it("turns a dropped connection into a network error", async () => {
    sim.failNext("get", "drop");
    await expect(
      fetch(`${BASE}/predictions/anything`, { headers: { authorization: `Bearer ${DEFAULT_TOKEN}` } }),
    ).rejects.toThrow(TypeError);
  });
});

describe("the loopback server adapter", () => {
  let server: Awaited<ReturnType<typeof startSimulatorServer>>;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const client = () =>
    axios.create({
      baseURL: server.baseUrl,
      httpAgent: agent,
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}` },
      validateStatus: () => true,
    });

  beforeAll(async () => {
    server = await startSimulatorServer({ port: 0, bootMs: 5, runMs: 30 });
    checkEveryAnswer(server.sim);
  });
  afterAll(async () => {
    agent.destroy();
    await server.close();
  });

  it("serves the API on 127.0.0.1 with URLs on its own origin, over kept-alive connections", async () => {
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const http = client();
    const createdAnswer = await http.post(
      "/predictions",
      { version: VERSION, input: { prompt: "server fox" } },
      { headers: { prefer: "wait=5" } },
    );
    expect(createdAnswer.status).toBe(201);
    expect(createdAnswer.data.status).toBe("succeeded");
    expect(createdAnswer.data.urls.get).toBe(`${server.baseUrl}/predictions/${createdAnswer.data.id}`);
    for (let i = 0; i < 5; i++) {
      expect((await http.get(`/predictions/${createdAnswer.data.id}`)).status).toBe(200);
    }
    expect(server.sim.connectionCount).toBe(1);

    const { data: prediction } = await http.get(`/predictions/${createdAnswer.data.id}`);
    const file = await axios.get(prediction.output[0], { responseType: "text" });
    expect(file.headers["content-type"]).toBe("image/svg+xml");
    expect(file.data).toContain("server fox");
  });

  it("destroys the socket for a dropped answer", async () => {
    server.sim.failNext("list", "drop");
    await expect(
      axios.get(`${server.baseUrl}/predictions`, { headers: { authorization: `Bearer ${DEFAULT_TOKEN}` } }),
    ).rejects.toMatchObject({ code: "ECONNRESET" });
  });

  it("streams server-sent events as they are produced", async () => {
    const { data } = await client().post("/predictions", { version: VERSION, input: { prompt: "hi [text]" } });
    const response = await fetch(data.urls.stream, { headers: { accept: "text/event-stream" } });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const events = parseEvents(await response.text());
    expect(events.filter((e) => e.event === "output").length).toBeGreaterThan(3);
    expect(events.at(-1)!.event).toBe("done");
  });

  it("closes with a hold still open: the hold is ended, not waited for", async () => {
    // The prediction runs a minute and the create holds for it: a close that waited for the hold
    // would outlast the test's timeout. Ended, the hold is cut or answers a prediction still running.
    const extra = await startSimulatorServer({ bootMs: 5, runMs: 60_000 });
    const hold = fetch(`${extra.baseUrl}/predictions`, {
      method: "POST",
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, prefer: "wait=60" },
      body: JSON.stringify({ version: VERSION, input: { prompt: "x" } }),
    }).then(
      async (response) => (await response.json()) as { status: string },
      (error: unknown) => error,
    );
    await vi.waitFor(() => expect(extra.sim.pendingWaits).toBeGreaterThan(0), { timeout: 10_000 });
    await extra.close();
    const outcome = await hold;
    if (!(outcome instanceof Error)) expect((outcome as { status: string }).status).not.toBe("succeeded");
    expect([...extra.sim.predictions.values()].every((prediction) => !prediction.isTerminal())).toBe(true);
  });
});
