import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { GET } from "@/app/api/ai/replicate/[id]/route";
import { fetchModelVersion, ModelLookupError } from "@/dev/fit-model/fetch-schema";
import { Problem } from "@/lib/server/problem";
import { createPrediction } from "@/lib/server/replicate/predictions";
import { isTerminal, type Prediction } from "@/lib/shared/prediction";
import {
  readCreatedPrediction,
  readFile,
  readPrediction,
  readPredictionPage,
  readWebhookSecret,
} from "@/lib/shared/replicate-objects";
import { readSseEvents, type SseEvent } from "@/lib/shared/sse";
import { settle, useFakeClock } from "@/tests/support/fake-clock";
import {
  answerKind,
  recordedFixtures,
  requestPath,
  type RecordedFixture,
  type RecordedInteraction,
} from "@/tests/support/recorded-traffic";
import { handleOf, jsonPost, setEnv, TOKEN } from "@/tests/support/route-env";
import { testConfig } from "@/tests/support/test-engine";

/**
 * Real Replicate traffic, recorded in the official clients' test suites (tests/fixtures/recorded/,
 * each fixture naming its source): every recorded answer is read by the route's reading code, and
 * every recorded sequence of one prediction is replayed through the route end to end.
 */

const BASE = "https://api.replicate.com/v1";
const fixtures = recordedFixtures();
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
// A fresh configuration (so a fresh poller) for each test: recordings reuse prediction ids, and a
// poller remembers predictions by id. The creates-per-minute setting only tells them apart.
let replays = 0;
const env = (overrides: Record<string, string> = {}) =>
  setEnv({ REPLICATE_API_BASE_URL: BASE, REPLICATE_CREATES_PER_MINUTE: String(600 + (replays % 1000)), ...overrides });
beforeEach(() => {
  replays += 1;
  env();
});
afterEach(() => server.resetHandlers());
afterAll(() => server.close());
useFakeClock();

const bodyOf = (interaction: RecordedInteraction) => interaction.response.body as Record<string, any>;
const interactionsOf = (kinds: string[]) =>
  fixtures.flatMap((fixture) =>
    fixture.interactions.filter((i) => kinds.includes(answerKind(i))).map((i) => [fixture.file, i] as const),
  );

describe("the recorded traffic", () => {
  it("covers predictions, list pages, files, models and versions, the webhook secret, errors and streams", () => {
    const kinds = new Set(fixtures.flatMap((fixture) => fixture.interactions.map(answerKind)));
    for (const kind of ["create", "prediction", "page", "file", "files", "secret", "model", "version", "stream", "error"])
      expect(kinds).toContain(kind);
    for (const fixture of fixtures) expect(fixture.source.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it("every prediction replicate-python recorded is read, whatever fields it lacks", () => {
    const recorded = fixtures.filter((f) => f.source.repository === "replicate/replicate-python");
    const predictions = recorded.flatMap((f) =>
      f.interactions.filter((i) => ["create", "prediction"].includes(answerKind(i))).map(bodyOf),
    );
    expect(predictions.length).toBeGreaterThan(300);
    for (const prediction of predictions) expect(readPrediction(prediction)).toBe(prediction);
  });

  it("includes predictions from before Replicate answered `model`", () => {
    const predictions = interactionsOf(["create", "prediction"]).map(([, i]) => bodyOf(i));
    expect(predictions.some((p) => !("model" in p))).toBe(true);
    expect(predictions.some((p) => "model" in p)).toBe(true);
  });
});

describe("every recorded answer is read by the route's reading code", () => {
  it.each(fixtures.map((fixture) => [fixture.file, fixture] as const))("%s", async (_file, fixture) => {
    for (const interaction of fixture.interactions) await expectRead(interaction);
  });
});

/** Read as the route reads it: accepted, and id, status, output and terminal-or-not as recorded. */
async function expectRead(interaction: RecordedInteraction) {
  const body = bodyOf(interaction);
  switch (answerKind(interaction)) {
    case "create":
      expect(readCreatedPrediction(body)).toBe(body);
      expectPrediction(readPrediction(body), body);
      return;
    case "prediction":
      expectPrediction(readPrediction(body), body);
      return;
    case "page": {
      const page = readPredictionPage(body);
      const readable = body.results.filter((entry: Record<string, unknown>) => typeof entry.status === "string");
      expect(page?.dropped).toBe(body.results.length - readable.length);
      expect(page?.results).toEqual(readable);
      return;
    }
    case "file":
      // An upload is read by its id (to delete it) and urls.get (the input); an abbreviated mock has no id.
      expect(readFile(body)?.urls.get).toBe(typeof body.id === "string" ? body.urls.get : undefined);
      return;
    case "files":
      for (const file of body.results) expect(readFile(file)?.id).toBe(file.id);
      return;
    case "secret":
      expect(readWebhookSecret(body)).toBe(body.key);
      return;
    case "model":
    case "version":
      await expectModelRead(interaction);
      return;
    case "error":
      await expectErrorRead(interaction);
      return;
    case "stream":
    case "deleted":
      return;
  }
}

/**
 * Real recorded answers all carry an id and a status. The JavaScript client's tests abbreviate some
 * (`{ id }` alone): those the route refuses as garbled, as it would a real one.
 */
function expectPrediction(read: Prediction | null, recorded: Record<string, any>) {
  if (typeof recorded.status !== "string") {
    expect(read).toBeNull();
    return;
  }
  expect(read).not.toBeNull();
  expect(read!.id).toBe(recorded.id);
  expect(read!.status).toBe(recorded.status);
  expect(read!.output).toBe(recorded.output);
  expect(isTerminal(read!)).toBe(["succeeded", "failed", "canceled", "aborted"].includes(recorded.status));
}

/** Models and versions are read by `npm run model` (dev/fit-model): a version with a schema, or a clear error. */
async function expectModelRead(interaction: RecordedInteraction) {
  const [, , owner, name, , version] = requestPath(interaction).split("/");
  const body = bodyOf(interaction);
  if (version === undefined && "results" in body) return; // a version list: nothing reads it
  const fetch = async () => new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
  const read = fetchModelVersion({ owner, name, version }, { baseUrl: BASE, token: TOKEN, fetch });
  const recorded = version ? body : body.latest_version;
  if (recorded?.openapi_schema) {
    await expect(read).resolves.toMatchObject({ version: recorded.id, openapiSchema: recorded.openapi_schema });
  } else {
    await expect(read).rejects.toBeInstanceOf(ModelLookupError);
  }
}

/** An error answer is passed on with Replicate's status and detail, as a create's answer. */
async function expectErrorRead(interaction: RecordedInteraction) {
  const { status, body } = interaction.response;
  env({ REPLICATE_MODEL: "", REPLICATE_MODEL_VERSION: `owner/model:${"0".repeat(64)}` });
  server.use(http.post(`${BASE}/predictions`, () => HttpResponse.json(body as never, { status })));
  // Within a second: a 429 is retried as its Retry-After says, and its last answer passed on.
  const error = await settle(createPrediction(testConfig(), {}, { deadline: Date.now() + 1000 }).catch((e: unknown) => e));
  expect(error).toBeInstanceOf(Problem);
  expect((error as Problem).status).toBe(status);
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string") expect((error as Problem).detail).toBe(detail);
  server.resetHandlers();
}

/** One prediction's recorded answers, in order: its create (if recorded), GETs and cancel. */
interface Sequence {
  fixture: RecordedFixture;
  id: string;
  create?: Record<string, any>;
  gets: Record<string, any>[];
  cancel?: Record<string, any>;
}

function sequences(): Sequence[] {
  const all: Sequence[] = [];
  for (const fixture of fixtures) {
    const byId = new Map<string, Sequence>();
    for (const interaction of fixture.interactions) {
      const kind = answerKind(interaction);
      if (kind !== "create" && kind !== "prediction") continue;
      const body = bodyOf(interaction);
      let sequence = byId.get(body.id);
      if (!sequence) byId.set(body.id, (sequence = { fixture, id: body.id, gets: [] }));
      if (kind === "create") sequence.create = body;
      else if (requestPath(interaction).endsWith("/cancel")) sequence.cancel = body;
      else sequence.gets.push(body);
    }
    all.push(...byId.values());
  }
  return all;
}

const name = (sequence: Sequence) => `${sequence.fixture.file}: ${sequence.id}`;
/** Sequences whose GETs and cancel carry a status (the JavaScript client's tests abbreviate some answers). */
const readable = (s: Sequence) => [s.create, ...s.gets, s.cancel].every((p) => p === undefined || typeof p.status === "string");
const created = sequences().filter((s) => s.create !== undefined && readable(s));
const followed = sequences().filter((s) => s.create === undefined && s.gets.length > 0 && readable(s));

/**
 * Replicate as recorded for one prediction: the create answers the recorded create, each GET the
 * next recorded GET (the last one again once they run out), a cancel the recorded cancel. Where the
 * recording stops before the end, Replicate goes on answering the last state it recorded.
 */
function replay(sequence: Sequence, streamText?: string) {
  const gets = [...sequence.gets];
  let last = sequence.create ?? gets[0];
  const counts = { create: 0, get: 0, cancel: 0 };
  server.use(
    http.post(/\/v1\/(models\/[^/]+\/[^/]+\/|deployments\/[^/]+\/[^/]+\/)?predictions$/, () => {
      counts.create += 1;
      return HttpResponse.json(sequence.create, { status: 201 });
    }),
    http.get(`${BASE}/predictions/${sequence.id}`, () => {
      counts.get += 1;
      last = gets.shift() ?? last;
      return HttpResponse.json(last);
    }),
    http.post(`${BASE}/predictions/${sequence.id}/cancel`, () => {
      counts.cancel += 1;
      last = sequence.cancel ?? { ...last, status: "canceled" };
      return HttpResponse.json(last);
    }),
    // Stream hosts: the recorded stream when there is one, else a stream that closes (the route polls).
    http.get(/^https:\/\/(stream\.replicate\.com|streaming-api\.[^/]+)\//, () =>
      streamText === undefined
        ? new HttpResponse(null, { status: 404 })
        : new HttpResponse(streamText, { headers: { "content-type": "text/event-stream" } }),
    ),
  );
  return counts;
}

async function answer(response: Promise<Response>) {
  const settled = await settle(response);
  return { status: settled.status, body: (await settle(settled.json())) as Record<string, any> };
}

describe("every recorded sequence replays through the route end to end", () => {
  it.each(created.map((s) => [name(s), s] as const))("POST %s", async (_name, sequence) => {
    const counts = replay(sequence);
    const final = sequence.gets.at(-1) ?? sequence.create!;
    const { status, body } = await answer(POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "replayed" })));
    expect(counts.create).toBe(1);
    if (isTerminal(final as Prediction)) {
      // A recorded end is answered as recorded: 200 for succeeded, the prediction as Replicate sent it.
      expect(status).toBe(final.status === "succeeded" ? 200 : 500);
      expect(body).toEqual(final);
      expect(counts.cancel).toBe(0);
    } else {
      // A recording that stops before the end: followed to the cap, then canceled, never a 502.
      expect(status).toBe(500);
      expect(counts.cancel).toBe(1);
      expect(body).toEqual({
        ...(sequence.cancel ?? { ...final, status: "canceled" }),
        error: expect.stringMatching(/timed out/),
      });
    }
  });

  it.each(followed.map((s) => [name(s), s] as const))("GET %s", async (_name, sequence) => {
    replay(sequence);
    const request = new Request(`http://localhost/api/ai/replicate/${handleOf(sequence.id)}`);
    const { status, body } = await answer(GET(request, { params: Promise.resolve({ id: handleOf(sequence.id) }) }));
    expect(body).toEqual(sequence.gets[0]);
    expect(status).toBe(sequence.gets[0].status === "succeeded" ? 200 : 202);
  });

  it("answers a recorded succeeded create + GET with 200 in two requests (it was a 502 after 10)", async () => {
    const create = created.find((s) => s.gets.at(-1)?.status === "succeeded" && !("model" in s.create!))!;
    const counts = replay(create);
    const { status, body } = await answer(POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "replayed" })));
    expect(status).toBe(200);
    expect(body).toEqual(create.gets.at(-1));
    expect(counts).toEqual({ create: 1, get: create.gets.length, cancel: 0 });
  });

  it("follows a create answered with an id alone (recorded by the JavaScript client's tests) to its end", async () => {
    const bare = sequences().find((s) => s.create && Object.keys(s.create).length === 1)!;
    const ended = created.find((s) => s.gets.at(-1)?.status === "succeeded")!.gets.at(-1)!;
    const counts = replay({ ...bare, gets: [{ ...ended, id: bare.id }] });
    const { status, body } = await answer(POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "replayed" })));
    expect(status).toBe(200);
    expect(body).toEqual({ ...ended, id: bare.id });
    expect(counts.cancel).toBe(0);
  });
});

async function events(response: Response): Promise<SseEvent[]> {
  const all: SseEvent[] = [];
  for await (const event of readSseEvents(response.body!)) all.push(event);
  return all;
}

describe("recorded streams through the live view", () => {
  const streamed = created.find((s) => s.create!.urls?.stream?.includes("/v1/predictions/"))!;
  const textStreams = fixtures.flatMap((f) =>
    f.interactions.filter((i) => answerKind(i) === "stream").map((i) => i.response.text!),
  );

  it.each(textStreams.map((text, index) => [index, text] as const))(
    "a recorded text stream (%i) is passed on as its text so far",
    async (_index, text) => {
      replay(streamed, text);
      env({ REPLICATE_TIMEOUT_SECONDS: "1" });
      const response = await settle(
        POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "p" }, { headers: { accept: "text/event-stream" } })),
      );
      const all = await settle(events(response));
      const recorded: string[] = [];
      for await (const event of readSseEvents(new Response(text).body!)) if (event.event === "output") recorded.push(event.data);
      const outputs = all.filter((e) => e.event === "output").map((e) => JSON.parse(e.data).output);
      let sofar = "";
      expect(outputs).toEqual(recorded.map((chunk) => (sofar += chunk)));
      expect(all.at(-1)!.event).toBe("done");
    },
  );

  // The held SDXL creates: `processing` with their files complete and a file stream under /v1/files/.
  // Its events were not recorded: here it sends the recorded output's files, one an event.
  const fileStreamed = created.filter((s) => s.create!.urls?.stream?.includes("/v1/files/") && Array.isArray(s.create!.output));

  it.each(fileStreamed.map((s) => [name(s), s] as const))(
    "a file stream of %s is passed on as the files so far, the last its output",
    async (_name, sequence) => {
      const files = sequence.create!.output as string[];
      const text = `${files.map((file, i) => `event: output\nid: ${i}\ndata: ${file}\n\n`).join("")}event: done\ndata: {}\n\n`;
      replay({ ...sequence, gets: [{ ...sequence.create!, status: "succeeded" }] }, text);
      const response = await settle(
        POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "p" }, { headers: { accept: "text/event-stream" } })),
      );
      const all = await settle(events(response));
      const outputs = all.filter((e) => e.event === "output").map((e) => JSON.parse(e.data).output);
      expect(outputs).toEqual(files.map((_, i) => files.slice(0, i + 1)));
      const done = JSON.parse(all.at(-1)!.data);
      expect(done.status).toBe("succeeded");
      expect(outputs.at(-1)).toEqual(done.output);
    },
  );

  it("a file stream that ends before its files still ends on the output in Replicate's shape, never the files joined", async () => {
    const sequence = fileStreamed[0];
    replay({ ...sequence, gets: [{ ...sequence.create!, status: "succeeded" }] }, "event: done\ndata: {}\n\n");
    const response = await settle(
      POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "p" }, { headers: { accept: "text/event-stream" } })),
    );
    const all = await settle(events(response));
    const outputs = all.filter((e) => e.event === "output").map((e) => JSON.parse(e.data).output);
    expect(outputs.at(-1)).toEqual(sequence.create!.output);
  });
});
